"""What a call does beyond its return value: change an object, touch global random state,
change a library's global settings, or make a value that cannot cross a step boundary.

These are the facts the compiler needs to keep a pipeline equal to Run All (see analysis.py,
which calls this module while it walks the code). Calls are named by their *dotted origin*:
`np.random.seed` after `import numpy as np` is ``numpy.random.seed``; a method call on a
variable is named by its method only.

The tables are deliberately conservative where a wrong guess would change a result: a method
call on a variable counts as changing it unless the method is known not to (an extra saved
artifact costs a little time; a missed change costs a wrong number).
"""

from __future__ import annotations

# Methods that never change their receiver (pandas, numpy, scikit-learn, builtins). Anything
# else called on a variable — `df.dropna(inplace=True)`, `names.append(…)`, `model.fit(…)` —
# makes the step a new producer of that variable.
PURE_METHODS = frozenset(
    """
    abs add_prefix add_suffix agg aggregate align all any apply applymap argmax argmin argsort
    asfreq astype at_time between between_time bfill boxplot capitalize casefold clip combine
    combine_first compare copy corr corrwith count cov cummax cummin cumprod cumsum decision_function
    describe diff div divide dot drop drop_duplicates droplevel dropna dtype duplicated encode
    endswith equals eval ewm expanding explode ffill fillna filter find first first_valid_index
    flatten floordiv format format_map get get_dummies get_feature_names_out get_group get_loc
    get_params groupby hasnans head hist idxmax idxmin index infer_objects info interpolate isalnum
    isalpha isdigit isin islower isna isnull isnumeric isspace istitle isupper items iteritems
    iterrows itertuples join keys kurt kurtosis last last_valid_index le ljust lower lstrip lt
    map mask max mean median melt memory_usage merge min mod mode mul multiply ne nlargest nonzero
    notna notnull nsmallest nunique partition pct_change pipe pivot pivot_table plot pow predict
    predict_log_proba predict_proba prod product quantile query rank ravel rdiv reindex reindex_like
    rename rename_axis reorder_levels replace resample reset_index reshape rfind rindex rjust rolling
    round rpartition rsplit rstrip sample score score_samples select_dtypes sem set_axis set_index
    shift skew sort_index sort_values split splitlines squeeze stack startswith std strip sub
    subtract sum swapaxes swaplevel swapcase tail take title to_csv to_dict to_excel to_feather
    to_frame to_hdf to_html to_json to_latex to_list to_markdown to_numpy to_parquet to_period
    to_pickle to_records to_sql to_string to_timestamp to_xarray tobytes tofile tolist transform
    transpose truncate tz_convert tz_localize unique unstack upper value_counts values var where
    xs zfill __getitem__ __len__ __contains__ __repr__ __str__ inverse_transform staged_predict
    savefig show
    """.split()
)

# Methods that change their receiver even when it is reached through an attribute or an item
# (`df["a"].fillna(0, inplace=True)`, `model.named_steps["clf"].fit(X, y)`).
MUTATING_METHODS = frozenset(
    """
    append extend insert remove pop clear update add discard sort reverse setdefault popitem
    fit partial_fit fit_transform fit_predict set_params set_output
    """.split()
)

# Methods whose result may be (part of) the receiver's own object or memory: `x.T`, a NumPy
# view, a value held in a dict. A change made through the result changes the receiver too.
VIEW_METHODS = frozenset(
    """
    view reshape ravel transpose swapaxes squeeze diagonal to_numpy __array__ get setdefault pop
    """.split()
)

# Library functions whose result may share memory with their first argument (NumPy views).
VIEW_FUNCTIONS = frozenset(
    """
    numpy.asarray numpy.asanyarray numpy.reshape numpy.ravel numpy.transpose numpy.squeeze
    numpy.swapaxes numpy.moveaxis numpy.diagonal numpy.atleast_1d numpy.atleast_2d
    numpy.atleast_3d numpy.expand_dims numpy.broadcast_to numpy.lib.stride_tricks.as_strided
    numpy.lib.stride_tricks.sliding_window_view
    """.split()
)

# Methods that put their arguments inside the receiver: afterwards the receiver holds them.
STORING_METHODS = frozenset("append extend insert add update setdefault".split())

# Library functions that change the array or list given as their first argument.
MUTATES_FIRST_ARGUMENT = frozenset(
    """
    numpy.random.shuffle random.shuffle numpy.copyto numpy.put numpy.place numpy.putmask
    numpy.fill_diagonal numpy.put_along_axis heapq.heappush heapq.heappop heapq.heapify
    heapq.heapreplace heapq.heappushpop bisect.insort bisect.insort_left bisect.insort_right
    """.split()
)

# Calls that end the kernel's work: Run All stops there (papermill: without error for code 0).
EXITS = frozenset({"sys.exit", "exit", "quit", "os._exit"})

# Calls that seed a global random generator.
SEEDS = frozenset(
    """
    numpy.random.seed random.seed torch.manual_seed torch.random.manual_seed torch.cuda.manual_seed
    torch.cuda.manual_seed_all tensorflow.random.set_seed tensorflow.keras.utils.set_random_seed
    keras.utils.set_random_seed
    """.split()
)

# Parts of numpy.random / random that build their own generator instead of using the global one.
_OWN_GENERATORS = frozenset(
    """
    default_rng Generator RandomState SeedSequence BitGenerator PCG64 PCG64DXSM MT19937 Philox
    SFC64 Random SystemRandom
    """.split()
)

# Libraries whose functions and estimators draw from numpy's (or their own) global generator
# when given no explicit seed: any use of them in a step counts as drawing.
_DRAWING_LIBRARIES = ("sklearn", "torch", "tensorflow", "keras", "scipy.stats", "lightgbm")

# Methods that draw from numpy's global generator when their object was made without a seed.
DRAWING_METHODS = frozenset({"fit", "fit_transform", "fit_predict", "partial_fit", "sample", "rvs"})


# Calls that surely draw from a global generator when given no seed (a library's estimator only
# may): used to warn about notebooks that draw without ever seeding.
SURE_DRAWS = frozenset(
    """
    sklearn.model_selection.train_test_split sklearn.utils.shuffle sklearn.utils.resample
    torch.rand torch.randn torch.randint torch.randperm torch.normal
    """.split()
)


def draws_surely(origin: str, seeded: bool) -> bool:
    """Whether calling `origin` surely draws from a global generator (`seeded`: given a seed)."""
    for module in ("numpy.random", "random"):
        if origin.startswith(module + "."):
            rest = origin[len(module) + 1 :]
            return "." not in rest and rest not in _OWN_GENERATORS and rest not in ("seed",)
    return origin in SURE_DRAWS and not seeded


def draws_random(origin: str) -> bool:
    """Whether using the name `origin` (a dotted path) may draw from global random state."""
    for module in ("numpy.random", "random"):
        if origin.startswith(module + "."):
            rest = origin[len(module) + 1 :]
            return rest.split(".")[0] not in _OWN_GENERATORS
    return any(origin == lib or origin.startswith(lib + ".") for lib in _DRAWING_LIBRARIES)


# Global settings of libraries and of the interpreter: a step that changes them changes what
# later cells print or compute in Run All, so the compiler replays such statements in later
# steps. Prefixes of dotted origins.
SETTINGS = (
    "pandas.set_option",
    "pandas.reset_option",
    "pandas.options",
    "pandas.plotting.register_matplotlib_converters",
    "numpy.set_printoptions",
    "numpy.seterr",
    "matplotlib.use",
    "matplotlib.rc",
    "matplotlib.rcParams",
    "matplotlib.style.use",
    "matplotlib.pyplot.style.use",
    "matplotlib.pyplot.rc",
    "matplotlib.pyplot.rcParams",
    "matplotlib.pyplot.ioff",
    "matplotlib.pyplot.ion",
    "seaborn.set",
    "seaborn.set_theme",
    "seaborn.set_style",
    "seaborn.set_context",
    "seaborn.set_palette",
    "warnings.filterwarnings",
    "warnings.simplefilter",
    "warnings.resetwarnings",
    "sys.path",
    "sys.setrecursionlimit",
    "os.environ",
    "os.putenv",
    "os.chdir",
    "sklearn.set_config",
    "torch.set_default_dtype",
    "torch.set_num_threads",
    "torch.set_grad_enabled",
    "torch.set_printoptions",
    "tensorflow.config",
    "logging.basicConfig",
    "logging.disable",
    "decimal.getcontext",
    # How results are displayed: SymPy's pretty printing, IPython's and matplotlib's formats.
    "sympy.init_printing",
    "sympy.init_session",
    "sympy.interactive.init_printing",
    "sympy.interactive.printing.init_printing",
    "IPython.display.set_matplotlib_formats",
    "IPython.core.display.set_matplotlib_formats",
    "matplotlib_inline.backend_inline.set_matplotlib_formats",
    "IPython.core.interactiveshell.InteractiveShell",
    "pandas.set_eng_float_format",
    "matplotlib.rcdefaults",
    "matplotlib.rc_file",
    "matplotlib.pyplot.rcdefaults",
    "matplotlib.pyplot.switch_backend",
    "matplotlib.style.reload_library",
)

# Shell commands: what files they read and write is unknown (`!git clone`, `!f2py … x.f`, `%%bash`,
# `%cp`), and `%cd dir` needs dir to exist: steps that run them keep their notebook order with
# every step that names a file.
SHELL_CALLS = frozenset(
    """
    os.system os.popen os.chdir subprocess.run subprocess.call subprocess.check_call
    subprocess.check_output subprocess.Popen subprocess.getoutput subprocess.getstatusoutput
    """.split()
)
SHELL_MAGICS = frozenset(
    """
    system sx bash sh script perl ruby ! mkdir rmdir mv rm cp cat ls ll lf lk ldir lx cd pushd
    popd
    """.split()
)

# IPython line magics that change the session rather than compute: replayed like settings.
SETTING_MAGICS = frozenset(
    {"matplotlib", "config", "load_ext", "reload_ext", "autoreload", "aimport", "precision"}
)


def is_setting(origin: str) -> bool:
    return any(origin == s or origin.startswith(s + ".") for s in SETTINGS)


# Values that cannot be saved for another step, by the call that makes them: each holds an open
# file, a socket, a lock, a thread or a C++ object that no format can write (each was checked
# to fail with cloudpickle). Refused at `check` time, naming the cell, rather than after the
# step that makes one has run.
_OPEN_FILE, _LOCK, _DATABASE = "an open file", "a lock", "a database connection"
UNPASSABLE_CALLS = {
    **dict.fromkeys(
        """open io.open codecs.open gzip.open bz2.open lzma.open os.fdopen os.popen
        tempfile.TemporaryFile tempfile.NamedTemporaryFile tempfile.SpooledTemporaryFile
        h5py.File""".split(),
        _OPEN_FILE,
    ),
    **dict.fromkeys(
        """threading.Lock threading.RLock threading.Condition threading.Semaphore
        threading.BoundedSemaphore multiprocessing.Lock multiprocessing.RLock
        multiprocessing.Semaphore multiprocessing.Condition""".split(),
        _LOCK,
    ),
    **dict.fromkeys(
        """sqlite3.connect psycopg2.connect psycopg.connect pymysql.connect
        mysql.connector.connect duckdb.connect pyodbc.connect sqlalchemy.create_engine
        pymongo.MongoClient""".split(),
        _DATABASE,
    ),
    "threading.Event": "a threading event",
    "multiprocessing.Event": "a threading event",
    "threading.Thread": "a thread",
    "threading.Timer": "a thread",
    "threading.local": "thread-local storage",
    "queue.Queue": "a queue between threads",
    "queue.LifoQueue": "a queue between threads",
    "queue.PriorityQueue": "a queue between threads",
    "queue.SimpleQueue": "a queue between threads",
    "multiprocessing.Queue": "a queue between processes",
    "multiprocessing.Value": "memory shared between processes",
    "multiprocessing.Array": "memory shared between processes",
    "multiprocessing.Manager": "a process manager",
    "multiprocessing.Process": "a process",
    "multiprocessing.Pool": "a process pool",
    "concurrent.futures.ThreadPoolExecutor": "a thread pool",
    "concurrent.futures.ProcessPoolExecutor": "a process pool",
    "asyncio.new_event_loop": "an event loop",
    "asyncio.get_event_loop": "an event loop",
    "socket.socket": "a network socket",
    "socket.create_connection": "a network socket",
    "socket.socketpair": "a network socket",
    "ssl.create_default_context": "an SSL context",
    "urllib.request.urlopen": "an open network response",
    "boto3.client": "a cloud client (it holds open connections)",
    "boto3.resource": "a cloud client (it holds open connections)",
    "os.scandir": "a directory iterator",
    "zipfile.ZipFile": "an open archive",
    "tarfile.open": "an open archive",
    "shelve.open": "an open database file",
    "dbm.open": "an open database file",
    "mmap.mmap": "a memory map",
    "logging.FileHandler": "a log handler (it holds a lock)",
    "logging.StreamHandler": "a log handler (it holds a lock)",
    "csv.reader": "a CSV reader bound to an open file",
    "csv.writer": "a CSV writer bound to an open file",
    "csv.DictReader": "a CSV reader bound to an open file",
    "csv.DictWriter": "a CSV writer bound to an open file",
    "subprocess.Popen": "a running process",
    # XGBoost keeps only histogram cuts of a QuantileDMatrix, and cannot save one.
    "xgboost.QuantileDMatrix": "an XGBoost QuantileDMatrix (XGBoost cannot save one)",
    "xgboost.DeviceQuantileDMatrix": "an XGBoost QuantileDMatrix (XGBoost cannot save one)",
}
UNPASSABLE_PREFIXES = {"ctypes.": "a ctypes object"}

# Methods whose result holds on to an unpassable receiver: `cur = conn.cursor()`.
UNPASSABLE_METHODS = {"cursor": "a database cursor", "execute": "a database cursor",
                      "makefile": "an open file", "accept": "a network socket"}  # fmt: skip


def unpassable(origin: str, keywords: frozenset[str] = frozenset()) -> str | None:
    """What the value made by calling `origin` (with these keyword arguments set) is, if it
    cannot be saved for another step."""
    if origin.startswith("pandas.read_") and keywords & {"chunksize", "iterator"}:
        return "a chunked reader bound to an open file"  # pd.read_csv(path, chunksize=1000)
    if origin in UNPASSABLE_CALLS:
        return UNPASSABLE_CALLS[origin]
    for prefix, kind in UNPASSABLE_PREFIXES.items():
        if origin.startswith(prefix):
            return kind
    return None
