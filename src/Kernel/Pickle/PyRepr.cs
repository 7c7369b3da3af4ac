using System.Numerics;

namespace Ckpt.Pickle;

/// <summary>A Python-like repr of unpickled values, bounded in depth and length (values may be hostile).</summary>
public static class PyRepr
{
    const int MaxDepth = 8;
    const int MaxChars = 2000;

    public static string Of(object? value)
    {
        var sb = new StringBuilder();
        Append(sb, value, 0);
        return sb.Length > MaxChars ? sb.ToString(0, MaxChars) + "…" : sb.ToString();
    }

    public static string TypeName(object? value) => value switch
    {
        null => "None",
        bool => "bool",
        long or BigInteger or int => "int",
        double => "float",
        string => "str",
        byte[] => "bytes",
        PyList => "list",
        PyTuple => "tuple",
        PyDict => "dict",
        PySet { Frozen: true } => "frozenset",
        PySet => "set",
        PyGlobal g => g.FullName,
        PyObject o => o.Class.FullName,
        TorchTensor => "torch.Tensor",
        TorchStorage => "torch.storage",
        TorchDType => "torch.dtype",
        TorchDevice => "torch.device",
        _ => value.GetType().Name,
    };

    static void Append(StringBuilder sb, object? value, int depth)
    {
        if (sb.Length > MaxChars) return;
        if (depth > MaxDepth) { sb.Append("…"); return; }
        switch (value)
        {
            case null: sb.Append("None"); break;
            case PyNone: sb.Append("None"); break;
            case bool b: sb.Append(b ? "True" : "False"); break;
            case long or BigInteger or int: sb.Append(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
            case double d: sb.Append(Float(d)); break;
            case string s: sb.Append('\'').Append(s.Replace("\\", "\\\\").Replace("'", "\\'").Replace("\n", "\\n")).Append('\''); break;
            case byte[] b:
                sb.Append("b'");
                foreach (var x in b.Take(64)) sb.Append(x is >= 32 and < 127 and not (byte)'\'' and not (byte)'\\' ? ((char)x).ToString() : $"\\x{x:x2}");
                sb.Append(b.Length > 64 ? "…'" : "'");
                break;
            case PyTuple t:
                sb.Append('(');
                Items(sb, t, depth);
                sb.Append(t.Count == 1 ? ",)" : ")");
                break;
            case PySet s:
                sb.Append(s.Frozen ? "frozenset({" : "{");
                Items(sb, s, depth);
                sb.Append(s.Frozen ? "})" : "}");
                break;
            case PyList l: sb.Append('['); Items(sb, l, depth); sb.Append(']'); break;
            case PyDict d:
                sb.Append('{');
                int n = 0;
                foreach (var kv in d)
                {
                    if (n++ > 0) sb.Append(", ");
                    if (sb.Length > MaxChars) break;
                    Append(sb, kv.Key, depth + 1);
                    sb.Append(": ");
                    Append(sb, kv.Value, depth + 1);
                }
                sb.Append('}');
                break;
            case PyObject o:
                sb.Append(o.Class.FullName).Append('(');
                Items(sb, o.Args, depth);
                if (o.State is not null) { sb.Append(o.Args.Count > 0 ? ", " : "").Append("state="); Append(sb, o.State, depth + 1); }
                sb.Append(')');
                break;
            default: sb.Append(value); break;
        }
    }

    static void Items(StringBuilder sb, IEnumerable<object?> items, int depth)
    {
        int n = 0;
        foreach (var item in items)
        {
            if (n++ > 0) sb.Append(", ");
            if (sb.Length > MaxChars) break;
            Append(sb, item, depth + 1);
        }
    }

    static string Float(double d) =>
        double.IsPositiveInfinity(d) ? "inf" : double.IsNegativeInfinity(d) ? "-inf" : double.IsNaN(d) ? "nan"
        : d == Math.Floor(d) && Math.Abs(d) < 1e16 ? d.ToString("0.0", CultureInfo.InvariantCulture)
        : d.ToString("R", CultureInfo.InvariantCulture);
}
