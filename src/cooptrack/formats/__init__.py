"""Readers and writers of the formats of the field: IATI activity XML, UN Comtrade, CSV and Excel,
Frictionless Data Package. They turn files into specs and findings; the services write."""
