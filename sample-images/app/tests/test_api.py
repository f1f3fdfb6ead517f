from fastapi.testclient import TestClient

from main import app


def test_health():
    assert TestClient(app).get("/health").json() == {"status": "ok"}


def test_predict():
    r = TestClient(app).post("/predict", json={"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2})
    assert r.json()["class"] == 0
