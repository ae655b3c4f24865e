"""The generated organisation as one value: its configuration, taxonomy and roles,
people (with their latent truth) and learning catalogue."""

from __future__ import annotations

from dataclasses import dataclass

from skillpath.sample.catalog import Catalog, generate_catalog
from skillpath.sample.config import SampleConfig
from skillpath.sample.people import People, generate_people
from skillpath.sample.taxonomy import Taxonomy, load_taxonomy


@dataclass(frozen=True)
class Organisation:
    config: SampleConfig
    tax: Taxonomy
    people: People
    catalog: Catalog


def build_organisation(config: SampleConfig) -> Organisation:
    tax = load_taxonomy()
    return Organisation(config, tax, generate_people(config, tax), generate_catalog(config, tax))
