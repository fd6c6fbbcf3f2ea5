"""The archiver: every archived topic's records kept forever as Hive-partitioned Parquet."""
