"""Small statistics helpers imported by the fidelity corpus notebooks (a local module)."""


def zscore(series):
    return (series - series.mean()) / series.std(ddof=0)


def summary(series):
    return {
        "n": int(len(series)),
        "mean": round(float(series.mean()), 4),
        "max": float(series.max()),
    }
