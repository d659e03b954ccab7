//! `mirror push`: local topics into a Kafka cluster.
