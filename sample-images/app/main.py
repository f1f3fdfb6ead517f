"""The classic ML serving app: FastAPI with /health and /predict over a scikit-learn model."""
import os

import joblib
from fastapi import FastAPI
from pydantic import BaseModel

MODEL_PATH = os.environ.get("MODEL_PATH", "/app/model/model.joblib")
model = joblib.load(MODEL_PATH)
app = FastAPI(title="iris-classifier")


class Features(BaseModel):
    sepal_length: float
    sepal_width: float
    petal_length: float
    petal_width: float


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


@app.post("/predict")
def predict(f: Features) -> dict:
    x = [[f.sepal_length, f.sepal_width, f.petal_length, f.petal_width]]
    return {"class": int(model.predict(x)[0]), "proba": [float(p) for p in model.predict_proba(x)[0]]}
