"""Data protection duties the pipeline carries out itself (docs/privacy.md): erasure
that sticks (GDPR Art. 17: ``erasure``, with the suppression list ingestion applies and
the compaction of the files deleted rows lived in), access requests (Art. 15:
``access``) and storage limitation (Art. 5(1)(e): ``retention``)."""
