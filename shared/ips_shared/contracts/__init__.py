"""The language the services speak: the event envelope, the catalogue and the streams."""
