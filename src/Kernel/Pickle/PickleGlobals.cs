namespace Ckpt.Pickle;

/// <summary>
/// What a global named by a pickle may become. Three outcomes, never code execution:
/// <list type="bullet">
/// <item>deny-listed (os.system, builtins.eval, subprocess.Popen, ...): the pickle is refused with
/// ForbiddenPickleGlobal, because naming them only ever serves an attack;</item>
/// <item>allow-listed: a data constructor in this table builds the value (OrderedDict -> PyDict,
/// _rebuild_tensor_v2 -> TorchTensor, torch.float32 -> TorchDType, ...);</item>
/// <item>anything else stays a <see cref="PyGlobal"/> name, and calling it yields an inert <see cref="PyObject"/>.</item>
/// </list>
/// </summary>
public static class PickleGlobals
{
    /// <summary>Whole modules whose every name is an attack vector when unpickled.</summary>
    static readonly string[] ForbiddenModules =
    [
        "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "sys", "shutil", "socket", "importlib", "ctypes",
        "runpy", "code", "codeop", "pty", "marshal", "pickle", "_pickle", "cPickle", "dill", "shelve", "multiprocessing",
        "asyncio", "signal", "webbrowser", "urllib", "http", "ftplib", "smtplib", "telnetlib", "requests", "platform",
        "tempfile", "glob", "commands", "popen2", "pdb", "bdb", "timeit", "trace", "cProfile", "profile",
        "threading", "_thread", "thread", "gc", "inspect", "zipimport", "pkgutil", "sysconfig", "distutils",
        "setuptools", "pip", "IPython", "torch.hub", "torch.jit", "torch.package", "torch._ops", "torch.ops",
        "torch.utils.cpp_extension", "torch.distributed.rpc", "numpy.testing", "numpy.f2py",
    ];

    /// <summary>Single names that execute, import, or reach arbitrary attributes.</summary>
    static readonly HashSet<string> ForbiddenNames = new(StringComparer.Ordinal)
    {
        "builtins.eval", "builtins.exec", "builtins.compile", "builtins.__import__", "builtins.open", "builtins.input",
        "builtins.setattr", "builtins.delattr", "builtins.globals", "builtins.locals", "builtins.vars",
        "builtins.breakpoint", "builtins.help", "builtins.exit", "builtins.quit", "builtins.memoryview", "builtins.__build_class__",
        "builtins.__builtins__", "builtins.apply", "builtins.execfile", "builtins.file", "builtins.reload",
        "types.FunctionType", "types.CodeType", "types.LambdaType", "types.MethodType", "types.ModuleType",
        "operator.attrgetter", "operator.methodcaller", "operator.itemgetter", "functools.partial", "functools.reduce",
        "io.open", "io.FileIO", "io.open_code", "_io.open", "_io.FileIO", "codecs.open", "torch.load", "torch.serialization.load",
        "torch.storage._load_from_bytes", "numpy.load", "numpy.loadtxt", "numpy.fromfile", "numpy.lib.npyio.load",
        "copyreg.add_extension", "copy_reg.add_extension", "linecache.getline", "linecache.getlines",
    };

    /// <summary>Python 2 module names, as pickle's fix_imports maps them.</summary>
    static string NormalizeModule(string module) => module switch
    {
        "__builtin__" => "builtins",
        "copy_reg" => "copyreg",
        "_codecs" or "codecs" => module,
        _ => module,
    };

    public static bool IsForbidden(string module, string name)
    {
        module = NormalizeModule(module);
        if (ForbiddenNames.Contains(module + "." + name)) return true;
        foreach (var m in ForbiddenModules)
            if (module == m || module.StartsWith(m + ".", StringComparison.Ordinal)) return true;
        // Dunder lookups on any module (x.__getattribute__, __reduce__, __class__) reach arbitrary code.
        return name.StartsWith("__", StringComparison.Ordinal) && name.EndsWith("__", StringComparison.Ordinal) && name != "__newobj__" && name != "__newobj_ex__";
    }

    /// <summary>The value GLOBAL pushes: a data attribute (`torch.float32`) or the class/function name.</summary>
    internal static object Resolve(string module, string name)
    {
        module = NormalizeModule(module);
        if (module == "torch" && !name.EndsWith("Storage", StringComparison.Ordinal) && IsTorchDTypeName(name, out var dtype))
            return new TorchDType(name, dtype);
        return new PyGlobal(module, name);
    }

    static bool IsTorchDTypeName(string name, out DType? dtype)
    {
        dtype = DTypes.TryFromTorchName(name, out var d) ? d : null;
        if (dtype is not null) return true;
        return name is "complex32" or "chalf" or "quint8" or "qint8" or "qint32" or "quint4x2" or "quint2x4"
            or "uint1" or "uint2" or "uint3" or "uint4" or "uint5" or "uint6" or "uint7" or "bits8" or "bits16"
            or "float4_e2m1fn_x2";
    }

    /// <summary>Data constructors for REDUCE on allow-listed globals; each validates its arguments.</summary>
    internal static Func<PyTuple, object?>? Constructor(PyGlobal g) => (g.Module, g.Name) switch
    {
        ("collections", "OrderedDict") or ("builtins", "dict") => args => DictFrom(args),
        ("builtins", "list") => args => new PyList(args.Count == 0 ? [] : Iterable(args[0])),
        ("builtins", "tuple") => args => args.Count == 0 ? PyTuple.Empty : new PyTuple(Iterable(args[0]).ToArray()),
        ("builtins", "set") => args => new PySet(args.Count == 0 ? [] : Iterable(args[0]), frozen: false),
        ("builtins", "frozenset") => args => new PySet(args.Count == 0 ? [] : Iterable(args[0]), frozen: true),
        ("builtins", "bytearray") or ("builtins", "bytes") => args => BytesFrom(args),
        ("_codecs", "encode") or ("codecs", "encode") => args => Encode(args),
        ("copyreg", "_reconstructor") => args =>
            args.Count >= 1 && args[0] is PyGlobal cls ? new PyObject(cls, PyTuple.Empty) { State = args.Count > 2 ? args[2] : null }
            : throw new InvalidDataException("copyreg._reconstructor expects a class"),
        ("torch._utils", "_rebuild_tensor_v2") or ("torch._utils", "_rebuild_tensor") => RebuildTensor,
        ("torch._utils", "_rebuild_parameter") or ("torch._utils", "_rebuild_parameter_with_state") => args =>
            args.Count >= 2 && args[0] is TorchTensor t ? t with { IsParameter = true, RequiresGrad = args[1] is true }
            : throw new InvalidDataException($"{g.FullName} expects (tensor, requires_grad, ...)"),
        ("torch._tensor", "_rebuild_from_type_v2") or ("torch._tensor", "_rebuild_from_type") => args =>
            args.Count >= 3 && args[0] is PyGlobal f && args[2] is PyTuple inner && Constructor(f) is { } ctor
                ? ctor(inner) : new PyObject(g, args),
        // Python 3.11 pickles Enum members by name as getattr(EnumClass, 'NAME') (torch 1.13 DCP .metadata writes
        // MEM_FORMAT_ENCODING so). Here it only joins two names; the joined name meets the deny-list like any global.
        ("builtins", "getattr") => args =>
            args.Count == 2 && args[0] is PyGlobal owner && args[1] is string attr && !IsForbidden(owner.FullName, attr)
                ? new PyGlobal(owner.FullName, attr)
                : throw new CheckpointFormatException(FormatErrorReason.ForbiddenPickleGlobal, null, null,
                    $"getattr is only allowed as (class, 'NAME'), found {PyRepr.Of(args)}"),
        ("torch", "Size") => args => args.Count == 0 ? PyTuple.Empty : new PyTuple(Iterable(args[0]).ToArray()),
        ("torch", "device") => args => new TorchDevice(args.Count switch
        {
            1 when args[0] is string s => s,
            2 when args[0] is string s && args[1] is long i => $"{s}:{i}",
            _ => throw new InvalidDataException($"torch.device expects (type[, index]), found {PyRepr.Of(args)}"),
        }),
        ("numpy.core.multiarray", "scalar") or ("numpy._core.multiarray", "scalar") => args => NumpyScalar(g, args),
        _ => null,
    };

    /// <summary>
    /// `numpy.core.multiarray.scalar(dtype, raw_bytes)`, where dtype is `numpy.dtype('f8', False, True)` with BUILD
    /// state (3, '&lt;', ...): numbers become double/long/bool; other dtypes stay inert.
    /// </summary>
    static object NumpyScalar(PyGlobal g, PyTuple args)
    {
        if (args.Count < 2 || args[0] is not PyObject { Class.Name: "dtype" } dtype || dtype.Args.Count < 1
            || dtype.Args[0] is not string code || args[1] is not byte[] raw)
            return new PyObject(g, args);
        var order = dtype.State is PyTuple { Count: > 1 } st && st[1] is string o ? o : "<";
        if (order == ">" && raw.Length > 1) raw = raw.Reverse().ToArray();
        var span = raw.AsSpan();
        object? value = (code, raw.Length) switch
        {
            ("f8", 8) => BitConverter.ToDouble(span),
            ("f4", 4) => (double)BitConverter.ToSingle(span),
            ("f2", 2) => (double)BitConverter.ToHalf(span),
            ("i8", 8) => BitConverter.ToInt64(span),
            ("i4", 4) => (long)BitConverter.ToInt32(span),
            ("i2", 2) => (long)BitConverter.ToInt16(span),
            ("i1", 1) => (long)(sbyte)raw[0],
            ("u4", 4) => (long)BitConverter.ToUInt32(span),
            ("u2", 2) => (long)BitConverter.ToUInt16(span),
            ("u1", 1) => (long)raw[0],
            ("u8", 8) => BitConverter.ToUInt64(span) is var u && u <= long.MaxValue ? (long)u : (object)new System.Numerics.BigInteger(u),
            ("b1", 1) => raw[0] != 0,
            _ => null,
        };
        return value ?? new PyObject(g, args);
    }

    static PyDict DictFrom(PyTuple args)
    {
        var d = new PyDict();
        if (args.Count == 0) return d;
        if (args[0] is PyDict src) { foreach (var kv in src) d[kv.Key] = kv.Value; return d; }
        foreach (var pair in Iterable(args[0]))
        {
            if (pair is not IReadOnlyList<object?> { Count: 2 } p)
                throw new InvalidDataException($"a dict is built from {PyRepr.Of(pair)}, not a (key, value) pair");
            d[p[0]!] = p[1];
        }
        return d;
    }

    static IEnumerable<object?> Iterable(object? o) => o switch
    {
        PyList l => l.ToArray(),
        PyTuple t => t,
        PySet s => s.ToArray(),
        PyDict d => d.Keys.ToArray(),
        _ => throw new InvalidDataException($"{PyRepr.Of(o)} is not a list or tuple"),
    };

    static byte[] BytesFrom(PyTuple args) => args.Count switch
    {
        0 => [],
        _ when args[0] is byte[] b => b.ToArray(),
        _ when args[0] is string s => Encode(args),
        _ when args[0] is PyList l => l.Select(x => x is long v and >= 0 and < 256 ? (byte)v : throw new InvalidDataException("a bytes item is not 0..255")).ToArray(),
        _ => throw new InvalidDataException($"bytes cannot be built from {PyRepr.Of(args)}"),
    };

    /// <summary>Protocol 2 pickles bytes as `_codecs.encode(text, 'latin1')`.</summary>
    static byte[] Encode(PyTuple args)
    {
        if (args.Count == 0 || args[0] is not string text)
            throw new InvalidDataException($"_codecs.encode expects (str, encoding), found {PyRepr.Of(args)}");
        var encoding = args.Count > 1 ? (args[1] as string ?? "") : "utf-8";
        return encoding.ToLowerInvariant().Replace('_', '-') switch
        {
            "latin1" or "latin-1" or "iso-8859-1" or "iso8859-1" or "l1" => Encoding.Latin1.GetBytes(text),
            "utf-8" or "utf8" => Encoding.UTF8.GetBytes(text),
            "ascii" => Encoding.ASCII.GetBytes(text),
            _ => throw new InvalidDataException($"_codecs.encode with encoding '{encoding}' is not supported"),
        };
    }

    static object RebuildTensor(PyTuple args)
    {
        if (args.Count < 4 || args[0] is not TorchStorage storage || args[1] is not long offset
            || ToLongs(args[2]) is not { } shape || ToLongs(args[3]) is not { } strides)
            throw new InvalidDataException($"_rebuild_tensor expects (storage, offset, size, stride, ...), found {PyRepr.Of(args)}");
        if (shape.Length != strides.Length)
            throw new InvalidDataException($"tensor size {PyRepr.Of(args[2])} and stride {PyRepr.Of(args[3])} differ in length");
        if (offset < 0 || shape.Any(d => d < 0) || strides.Any(s => s < 0))
            throw new InvalidDataException($"tensor offset {offset}, size {PyRepr.Of(args[2])} or stride {PyRepr.Of(args[3])} is negative");
        return new TorchTensor(storage, offset + storage.ViewOffset, shape, strides, args.Count > 4 && args[4] is true);
    }

    static long[]? ToLongs(object? o) =>
        o is IReadOnlyList<object?> list && list.All(x => x is long) ? list.Select(x => (long)x!).ToArray() : null;
}
