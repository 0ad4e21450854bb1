"""The Alembic migrations and the models agree, on every database the suite runs on."""

from minxin import migrate


def test_migrations_match_the_models(engine):
    migrate.check(engine)  # raises if autogenerate would produce any operation
