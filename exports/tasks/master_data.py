"""(filled by the master_data part)"""

__all__ = []
