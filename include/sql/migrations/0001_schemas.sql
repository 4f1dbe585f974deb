-- Warehouse layers (see ../../../README.md): staging is per batch and disposable; core keeps
-- history and lineage; mart is what analysts read; quarantine keeps rejected rows with reasons;
-- audit keeps one row per batch, its landed objects and its validation results.
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS mart;
CREATE SCHEMA IF NOT EXISTS quarantine;
CREATE SCHEMA IF NOT EXISTS audit;
