"""A local module that changes matplotlib's global settings when it is imported, as projects'
plotting helpers often do (the fidelity corpus' file_local_module_side_effect)."""

import matplotlib.pyplot as plt

plt.rcParams["figure.dpi"] = 600
plt.rcParams["axes.grid"] = True


def dpi():
    return plt.rcParams["figure.dpi"]
