"""Exchange formats partners already read: NIBRS XML, STIX 2.1 and GeoPackage, as pure builders.

No database and no web framework: records in, documents out. The services in
:mod:`openilp.services.exchange` choose what may leave, audit it and hand the rows to these builders.
"""
