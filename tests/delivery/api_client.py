"""A test client for the HTTP API that carries a key: `ApiClient(key).post("/messages", {...})`."""

from __future__ import annotations

import json

from django.test import Client

from delivery.api_keys import ApiKey

BASE = "/api/v1"


def make_key(scopes=("send", "read"), **fields) -> tuple[ApiKey, str]:
    return ApiKey.issue(name=fields.pop("name", "test service"), scopes=list(scopes), **fields)


class ApiClient:
    def __init__(self, key: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def post(self, path: str, body=None, **headers):
        return self.client.post(BASE + path, json.dumps(body or {}),
                                content_type="application/json",
                                headers={**self.headers, **headers})

    def get(self, path: str, **params):
        return self.client.get(BASE + path, params, headers=self.headers)

    def delete(self, path: str):
        return self.client.delete(BASE + path, headers=self.headers)
