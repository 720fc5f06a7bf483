"""The Alembic migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from openilp.db.engine import migrate
from openilp.db.models import Base


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], f"models and migrations differ; write a migration: {differences}"


def test_migrate_is_idempotent_and_loads_categories(engine: Engine) -> None:
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"agencies", "incidents", "incident_ledger", "import_files", "users", "offence_categories"} <= tables
    with engine.connect() as connection:
        count = connection.exec_driver_sql("SELECT COUNT(*) FROM offence_categories").scalar()
        parents = connection.exec_driver_sql(
            "SELECT parent_code FROM offence_categories WHERE code = 'theft_from_vehicle'"
        ).scalar()
    assert count and count >= 20
    assert parents == "larceny"
