"""(filled by the archives part)"""

__all__ = []
