"""The IDX pipeline: what each stage computes, knowing nothing about how files are watched."""
