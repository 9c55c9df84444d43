"""Database access: SQLAlchemy tables, repositories and migrations — storage issue."""
