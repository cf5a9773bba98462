"""What a `serve` cell may not call, by what the call does (serve_rules.py applies them).

In the notebook a serve cell runs once, on all the rows; served, on each request's rows. These
tables name the calls whose result depends on the rows at hand, that read files or the network,
run commands or draw random numbers: by method name, or by dotted origin as in effects.py.
"""

from __future__ import annotations

# Methods that compute over the rows of a frame or a series (across columns with axis=1).
OVER_ROWS = frozenset(
    """
    mean median sum std var min max quantile mode count nunique prod product sem skew kurt
    kurtosis describe agg aggregate value_counts unique idxmax idxmin argmax argmin cumsum
    cumprod cummax cummin rank shift diff pct_change rolling expanding ewm groupby resample corr
    cov
    """.split()
)
# Methods that apply a function given by name: `x.transform("mean")` is `x.mean()` per row.
BY_NAME = frozenset({"transform", "apply"})
# Functions that fit on the rows they are given and transform them in one call.
FITTING_FUNCTIONS = frozenset(
    """
    sklearn.preprocessing.scale sklearn.preprocessing.minmax_scale
    sklearn.preprocessing.maxabs_scale sklearn.preprocessing.robust_scale
    sklearn.preprocessing.quantile_transform sklearn.preprocessing.power_transform
    scipy.stats.zscore scipy.stats.rankdata
    """.split()
)
# Functions and methods that number the categories found in the rows at hand.
CATEGORIES_FROM_ROWS = frozenset({"pandas.factorize", "factorize"})
# Methods that keep, drop or reorder rows, or take values from neighbouring rows.
ROW_SHAPING = frozenset(
    """
    dropna drop_duplicates sort_values sort_index sample head tail query nlargest nsmallest
    ffill bfill pad backfill interpolate
    """.split()
)
FITS = frozenset({"fit", "fit_transform", "partial_fit", "fit_predict"})
# numpy, statistics and scipy functions over an array's values (across columns with axis=1).
NUMPY_OVER_ROWS = frozenset(
    """
    mean median sum std var min max amin amax ptp percentile quantile average argmax argmin
    unique histogram cumsum cumprod nanmean nanmedian nansum nanstd nanvar nanmin nanmax
    nanpercentile nanquantile sort argsort
    """.split()
)
FILE_READS = frozenset(
    """
    open io.open numpy.load numpy.loadtxt numpy.genfromtxt numpy.fromfile joblib.load
    pickle.load json.load torch.load glob.glob os.listdir os.scandir shutil.copy
    """.split()
)
FILE_METHODS = frozenset({"read_text", "read_bytes", "iterdir", "rglob"})  # Path(...)
NETWORK = frozenset(
    """
    requests urllib http httpx aiohttp socket urllib3 boto3 botocore sqlite3 sqlalchemy
    psycopg2 pymysql pymongo redis smtplib ftplib
    """.split()
)
COMMANDS = frozenset({"subprocess", "os.system", "os.popen", "os.exec", "os.spawn"})
# Methods of numpy's Generator and random.Random that draw.
DRAWS = frozenset(
    """
    normal uniform integers random choice permutation shuffle standard_normal binomial
    poisson exponential gamma beta randint randn rand
    """.split()
)
CATEGORIES_FIXED = frozenset({"Categorical", "CategoricalDtype", "set_categories"})
