"""What the platform runs on: the database and its migrations, settings, the clock, the model registry."""
