"""Kafka producer and consumer: messages -> raw tables, untouched."""
