"""Values the landing formats, the sample generator, the marts and the tests must agree
on, declared once. dbt cannot import Python: ``dbt_project.yml``'s var
``content_formats`` repeats the list and ``tests/test_data_contract.py`` keeps the two
equal. ``ml`` reads the formats from the marts (``affinity_<format>`` columns)."""

# lms/catalog.csv ``format``; mart_engagement has an ``affinity_<format>`` per format
CONTENT_FORMATS = (
    "video",
    "article",
    "course",
    "workshop",
    "podcast",
    "microlearning",
    "interactive",
)
