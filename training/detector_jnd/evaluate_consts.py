TARGETS = (4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0)
KS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 18)


def rate_matched(res, methods, targets=TARGETS):
    """F1 of each method interpolated (linear in log rate proxy) at the flat quantiser's rate proxy of
    every T: {method: [f1 at flat rate of T] }, the 'equal bits' reading of the same curves."""
    import numpy as np
    out = {}
    flat_r = [res["means"][f"cmp|{T}|flat|rate"] for T in targets]
    for m in methods:
        r = np.log([res["means"][f"cmp|{T}|{m}|rate"] for T in targets])
        f = np.array([res["f1"][f"cmp|{T}|{m}"]["f1"] for T in targets])
        o = np.argsort(r)
        out[m] = [float(np.interp(np.log(fr), r[o], f[o])) for fr in flat_r]
    return out
