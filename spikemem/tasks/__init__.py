"""Protocols that drive a network and read it out."""
