"""Crime analysis: pure numerics over numpy arrays and data frames.

Nothing here imports the database, the web app or the CLI: functions take coordinates in
metres (the agency's projected CRS), times as numpy datetime64 or days, and return arrays,
frames or small result objects. Services load incidents and call these; the CLI and web
app show the results.
"""
