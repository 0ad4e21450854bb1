"""Medical assistance 医疗救助 (plan P4, P5): settlement records assessed and paid through the engine."""
