"""Pydantic schemas of the REST API, one module per resource, kept apart from domain and ORM classes.

``...In`` models are request bodies, ``...Out`` models responses (built with their ``of`` class
methods from domain objects), ``...Patch`` models partial updates where absent fields stay as they are.
"""
