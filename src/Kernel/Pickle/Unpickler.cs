using System.Buffers.Binary;
using System.Numerics;

namespace Ckpt.Pickle;

/// <summary>
/// A restricted pickle VM (protocols 0-5) that builds data and never runs code: globals are names checked
/// against <see cref="PickleGlobals"/>, calls on anything not allow-listed give inert <see cref="PyObject"/>s.
/// We do not use Razorvine.Pickle: its class registry is process-static (one caller's constructors leak into
/// every other load) and it allocates whatever lengths a pickle claims, so a 20-byte file can ask for 4 GB.
/// Invariants, each a PickleInvalid unless said otherwise:
/// <list type="number">
/// <item>a global on the deny-list is refused (ForbiddenPickleGlobal) before anything else happens;</item>
/// <item>every length (strings, bytes, frames, LONG4) is checked against the remaining input before allocating;</item>
/// <item>the stack, MARK nesting and memo are bounded (<see cref="PickleOptions"/>); pops never go below the last MARK;</item>
/// <item>GET names a memo entry that was PUT; opcodes and protocol are known (≤ 5); input ends only after STOP;</item>
/// <item>cost is linear in the input: an integer has at most <see cref="PickleOptions.MaxIntegerBytes"/> bytes
/// (printing a longer one is quadratic); what allow-listed constructors copy is budgeted in bytes against the input's
/// size; and the loaded value, walked through every shared reference, has at most
/// <see cref="PickleOptions.MaxNodesPerInputByte"/> nodes per input byte (TooLarge), so a DAG that doubles each
/// level is refused here instead of in whichever walker meets it;</item>
/// <item>any other fault, whatever its cause, is reported as PickleInvalid with the byte offset of the opcode.</item>
/// </list>
/// </summary>
public sealed class Unpickler
{
    /// <summary>Set in <see cref="Exception.Data"/> when the input ended before STOP, so a streaming caller can read more.</summary>
    public const string TruncatedKey = "pickle.truncated";

    readonly byte[] _data;
    readonly int _end;
    readonly string? _file;
    readonly PickleOptions _options;
    readonly List<object?> _stack = [];
    readonly Stack<int> _marks = new();
    readonly PickleMemo _memo = new();
    int _pos;
    int _opStart;
    long _copied;
    readonly long _copyBudget;
    readonly long _nodeBudget;
    readonly int _length;

    Unpickler(byte[] data, int start, int length, string? file, PickleOptions options)
    {
        _data = data;
        _pos = start;
        _end = start + length;
        _file = file;
        _options = options;
        // Bytes, and 8 per copied reference: what a copy costs in memory, within the 16 bytes per input byte
        // (plus 1 MiB) the hostile-corpus memory test allows a whole load.
        _length = length;
        _copyBudget = 4L * length + (1 << 20);
        _nodeBudget = options.MaxNodesPerInputByte * length + options.MaxNodesFixed;
    }

    public static object? Load(byte[] data, string? file = null, PickleOptions? options = null) =>
        Load(data, 0, data.Length, file, options, out _);

    /// <summary>Loads the pickle at [start, start+length) and reports the offset just after its STOP.</summary>
    public static object? Load(byte[] data, int start, int length, string? file, PickleOptions? options, out int end)
    {
        if (start < 0 || length < 0 || start + length > data.Length) throw new ArgumentOutOfRangeException(nameof(length));
        var vm = new Unpickler(data, start, length, file, options ?? PickleOptions.Default);
        try
        {
            var result = vm.Run();
            end = vm._pos;
            vm.CheckTreeSize(result);
            return result;
        }
        catch (CheckpointFormatException e) when (e.File is null && file is not null)
        {
            throw new CheckpointFormatException(e.Reason, file, e.Tensor, $"{StripReason(e.Message)} at byte {vm._opStart}",
                e.Expected, e.Found, e);
        }
        catch (CheckpointFormatException) { throw; }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new CheckpointFormatException(FormatErrorReason.PickleInvalid, file, null,
                $"the pickle is malformed at byte {vm._opStart}: {e.Message.TrimEnd('.')}", inner: e);
        }
    }

    static string StripReason(string message)
    {
        int i = message.LastIndexOf(" [", StringComparison.Ordinal);
        return (i > 0 ? message[..i] : message).TrimEnd('.');
    }

    object? Run()
    {
        while (true)
        {
            _opStart = _pos;
            byte op = ReadByte();
            switch (op)
            {
                case (byte)'.': return _stack.Count > 0 ? Pop() : throw Fail("STOP found an empty stack");
                case 0x80: // PROTO
                    int proto = ReadByte();
                    if (proto > 5) throw Fail($"protocol {proto} is not one of 0-5", "protocol ≤ 5", proto.ToString());
                    break;
                case 0x95: // FRAME: a length hint only
                    ulong frame = ReadUInt64();
                    if (frame > (ulong)(_end - _pos)) throw Truncated($"a frame of {frame} bytes", frame);
                    break;
                case (byte)'(':
                    if (_marks.Count >= _options.MaxMarkDepth)
                        throw Fail($"MARKs nest deeper than {_options.MaxMarkDepth}", $"≤ {_options.MaxMarkDepth}", "more");
                    _marks.Push(_stack.Count);
                    break;
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case (byte)'K': Push((long)ReadByte()); break;
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case 0x8a: Push(Long(Take(ReadByte()))); break;
                case 0x8b:
                {
                    int n = BinaryPrimitives.ReadInt32LittleEndian(Take(4));
                    if (n < 0) throw Fail($"LONG4 has negative length {n}");
                    if (n > _options.MaxIntegerBytes)
                        throw Fail($"a LONG4 integer of {n} bytes is longer than a checkpoint's integers", $"≤ {_options.MaxIntegerBytes} bytes", $"{n} bytes");
                    Push(Long(Take((ulong)n, "a LONG4")));
                    break;
                }
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;
                case (byte)'I': Push(TextInt(ReadLine())); break;
                case (byte)'L': Push(TextLong(ReadLine())); break;
                case (byte)'F': Push(TextFloat(ReadLine())); break;
                case (byte)'X': Push(Utf8(Take(ReadUInt32(), "a string"))); break;
                case 0x8c: Push(Utf8(Take(ReadByte()))); break;
                case 0x8d: Push(Utf8(Take(ReadUInt64(), "a string"))); break;
                case (byte)'T':
                {
                    int n = BinaryPrimitives.ReadInt32LittleEndian(Take(4));
                    if (n < 0) throw Fail($"BINSTRING has negative length {n}");
                    Push(Utf8(Take((ulong)n, "a string")));
                    break;
                }
                case (byte)'U': Push(Utf8(Take(ReadByte()))); break;
                case (byte)'S': Push(Utf8(PythonStringLiteral(ReadLine()))); break;
                case (byte)'V': Push(RawUnicodeEscape(ReadLineBytes())); break;
                case (byte)'B': Push(Take(ReadUInt32(), "bytes").ToArray()); break;
                case (byte)'C': Push(Take(ReadByte()).ToArray()); break;
                case 0x8e: Push(Take(ReadUInt64(), "bytes").ToArray()); break;
                case 0x96: Push(Take(ReadUInt64(), "a bytearray").ToArray()); break;
                case 0x97: throw Fail("the pickle asks for an out-of-band buffer (NEXT_BUFFER), which a file cannot supply");
                case 0x98: Peek(); break; // READONLY_BUFFER: no-op on our copies
                case (byte)'}': Push(new PyDict()); break;
                case (byte)']': Push(new PyList()); break;
                case (byte)')': Push(PyTuple.Empty); break;
                case 0x8f: Push(new PySet()); break;
                case (byte)'d': Push(DictOf(PopMark())); break;
                case (byte)'l': Push(new PyList(PopMark())); break;
                case (byte)'t': Push(new PyTuple(PopMark().ToArray())); break;
                case 0x85: { var a = Pop(); Push(new PyTuple([a])); break; }
                case 0x86: { var b = Pop(); var a = Pop(); Push(new PyTuple([a, b])); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new PyTuple([a, b, c])); break; }
                case 0x91: Push(new PySet(PopMark(), frozen: true)); break;
                case (byte)'a': { var v = Pop(); Append(Peek(), [v]); break; }
                case (byte)'e': { var items = PopMark(); Append(Peek(), items); break; }
                case (byte)'s': { var v = Pop(); var k = Pop(); SetItems(Peek(), [k, v]); break; }
                case (byte)'u': { var items = PopMark(); SetItems(Peek(), items); break; }
                case 0x90:
                {
                    var items = PopMark();
                    // A frozenset may be a dict key already, with its hash kept; Python cannot add to one either.
                    if (Peek() is not PySet { Frozen: false } set) throw Fail($"ADDITEMS targets a {PyRepr.TypeName(Peek())}, not a set");
                    set.AddRange(items);
                    break;
                }
                case (byte)'0':
                    if (_marks.Count > 0 && _stack.Count == _marks.Peek()) _marks.Pop();
                    else Pop();
                    break;
                case (byte)'1': PopMark(); break;
                case (byte)'2': Push(Peek()); break;
                case (byte)'p': Memo(ParseIndex(ReadLine())); break;
                case (byte)'q': Memo(ReadByte()); break;
                case (byte)'r': Memo(ReadUInt32()); break;
                case 0x94: Memo(_memo.Count); break;
                case (byte)'g': Push(Recall(ParseIndex(ReadLine()))); break;
                case (byte)'h': Push(Recall(ReadByte())); break;
                case (byte)'j': Push(Recall(ReadUInt32())); break;
                case (byte)'c':
                {
                    var module = Ascii(ReadLineBytes());
                    var name = Ascii(ReadLineBytes());
                    Push(Global(module, name));
                    break;
                }
                case 0x93:
                {
                    var name = Pop();
                    var module = Pop();
                    if (module is not string m || name is not string n)
                        throw Fail($"STACK_GLOBAL names {PyRepr.Of(module)}.{PyRepr.Of(name)}, not two strings");
                    Push(Global(m, n));
                    break;
                }
                case (byte)'i':
                {
                    var module = Ascii(ReadLineBytes());
                    var name = Ascii(ReadLineBytes());
                    var cls = Global(module, name);
                    Push(Call(cls, new PyTuple(PopMark().ToArray())));
                    break;
                }
                case (byte)'o':
                {
                    var items = PopMark();
                    if (items.Count == 0) throw Fail("OBJ has no class");
                    Push(Call(items[0], new PyTuple(items.Skip(1).ToArray())));
                    break;
                }
                case (byte)'R':
                {
                    var args = Pop();
                    var callable = Pop();
                    if (args is not PyTuple t) throw Fail($"REDUCE arguments are a {PyRepr.TypeName(args)}, not a tuple");
                    Push(Call(callable, t));
                    break;
                }
                case 0x81:
                {
                    var args = Pop();
                    var cls = Pop();
                    if (args is not PyTuple t) throw Fail($"NEWOBJ arguments are a {PyRepr.TypeName(args)}, not a tuple");
                    Push(NewObject(cls, t, null));
                    break;
                }
                case 0x92:
                {
                    var kwargs = Pop();
                    var args = Pop();
                    var cls = Pop();
                    if (args is not PyTuple t || kwargs is not PyDict kw)
                        throw Fail("NEWOBJ_EX needs an argument tuple and a keyword dict");
                    Push(NewObject(cls, t, kw));
                    break;
                }
                case (byte)'b': { var state = Pop(); Build(Peek(), state); break; }
                case (byte)'P': Push(Persistent(Ascii(ReadLineBytes()))); break;
                case (byte)'Q': Push(Persistent(Pop())); break;
                case 0x82 or 0x83 or 0x84:
                    throw Fail("the pickle uses the copyreg extension registry (EXT1/2/4), which is not supported");
                default:
                    throw Fail($"unknown opcode 0x{op:x2}", "a pickle opcode", $"0x{op:x2}");
            }
        }
    }

    // ---- stack, marks and memo

    void Push(object? value)
    {
        if (_stack.Count >= _options.MaxStackDepth)
            throw Fail($"the stack grows past {_options.MaxStackDepth} items", $"≤ {_options.MaxStackDepth}", "more");
        _stack.Add(value);
    }

    int Fence => _marks.Count > 0 ? _marks.Peek() : 0;

    object? Pop()
    {
        if (_stack.Count <= Fence) throw Fail("an opcode pops from an empty stack (stack underflow)");
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    object? Peek() => _stack.Count > Fence ? _stack[^1] : throw Fail("an opcode needs a value but the stack is empty");

    List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Fail("an opcode needs a MARK but none is open");
        int mark = _marks.Pop();
        var items = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    void Memo(long index)
    {
        if (index < 0) throw Fail($"memo index {index} is negative");
        if (_memo.Count >= _options.MaxMemoEntries && !_memo.Contains(index))
            throw Fail($"the memo grows past {_options.MaxMemoEntries} entries", $"≤ {_options.MaxMemoEntries}", "more");
        _memo.Set(index, Peek());
    }

    object? Recall(long index) =>
        _memo.TryGet(index, out var v) ? v
        : throw Fail($"GET names memo entry {index}, which was never stored", $"one of {_memo.Count} entries", index.ToString());

    // ---- globals, calls and objects

    object Global(string module, string name)
    {
        if (module.Length == 0 || name.Length == 0)
            throw Fail($"a global has an empty module or name ('{module}'.'{name}')");
        if (PickleGlobals.IsForbidden(module, name))
            throw new CheckpointFormatException(FormatErrorReason.ForbiddenPickleGlobal, _file, null,
                $"the pickle names the forbidden global {module}.{name} at byte {_opStart}; nothing was executed",
                expected: "data classes only", found: $"{module}.{name}");
        return PickleGlobals.Resolve(module, name);
    }

    object? Call(object? callable, PyTuple args)
    {
        if (callable is not PyGlobal g)
            throw Fail($"the pickle calls a {PyRepr.TypeName(callable)}, which is not a class or function name");
        var ctor = PickleGlobals.Constructor(g);
        if (ctor is null) return new PyObject(g, args);
        foreach (var a in args) Spend(CopyCost(a));
        return ctor(args);
    }

    /// <summary>
    /// Constructors copy their arguments (`list(x)`, `OrderedDict(d)`, `bytes(b)`, `_codecs.encode(s)`), so a few
    /// bytes re-applying one to a large memoized value would cost quadratic time and memory; copies are budgeted
    /// in bytes against the input's size (a reference 8, a dict entry 16, a character up to 3 once encoded).
    /// </summary>
    void Spend(long bytes)
    {
        _copied += bytes;
        if (_copied > _copyBudget)
            throw new CheckpointFormatException(FormatErrorReason.TooLarge, _file, null,
                $"the pickle copies more than {_copyBudget} bytes through constructors, far more than its {_length} bytes allow, at byte {_opStart}");
    }

    static long CopyCost(object? arg) => arg switch
    {
        PyList l => 8L * l.Count,
        PyTuple t => 8L * t.Count,
        PySet x => 8L * x.Count,
        PyDict d => 16L * d.Count,
        byte[] b => b.Length,
        string s => 3L * s.Length,
        _ => 0,
    };

    void CheckTreeSize(object? result)
    {
        long nodes = PyTreeSize.Of(result);
        if (nodes > _nodeBudget)
            throw new CheckpointFormatException(FormatErrorReason.TooLarge, _file, null,
                $"the unpickled value has {(nodes == long.MaxValue ? "over 2^63" : nodes.ToString())} nodes when its shared references are followed, more than {_nodeBudget} for a pickle of {_length} bytes",
                expected: $"≤ {_nodeBudget} nodes", found: nodes == long.MaxValue ? "over 2^63" : nodes.ToString());
    }

    object? NewObject(object? cls, PyTuple args, PyDict? kwargs)
    {
        if (cls is not PyGlobal g)
            throw Fail($"NEWOBJ on a {PyRepr.TypeName(cls)}, which is not a class name");
        // cls.__new__ of the builtin containers gives an empty container that SETITEMS/APPENDS then fill.
        return (g.Module, g.Name) switch
        {
            ("collections", "OrderedDict") or ("builtins", "dict") => new PyDict(),
            ("builtins", "list") => new PyList(),
            ("builtins", "set") => new PySet(),
            _ => new PyObject(g, args, kwargs),
        };
    }

    void Build(object? target, object? state)
    {
        if (target is not PyObject o) return; // BUILD on data we built ourselves carries nothing we use
        if (o.State is PyDict existing && state is PyDict more)
        {
            Spend(16L * more.Count);
            foreach (var kv in more) existing[kv.Key] = kv.Value;
        }
        else o.State = state;
    }

    object? Persistent(object? pid)
    {
        if (_options.PersistentLoad is null)
            throw Fail($"the pickle refers to persistent id {PyRepr.Of(pid)} but this file has no persistent storage");
        return _options.PersistentLoad(pid);
    }

    void Append(object? target, List<object?> items)
    {
        switch (target)
        {
            case PyList l: l.AddRange(items); break;
            case PySet s: s.AddRange(items); break;
            case PyObject o: (o.ListItems ??= []).AddRange(items); break;
            default: throw Fail($"APPEND targets a {PyRepr.TypeName(target)}, not a list");
        }
    }

    void SetItems(object? target, List<object?> items)
    {
        if (items.Count % 2 != 0) throw Fail("SETITEMS has an odd number of items");
        var dict = target switch
        {
            PyDict d => d,
            PyObject o => o.DictItems ??= new PyDict(),
            _ => throw Fail($"SETITEM targets a {PyRepr.TypeName(target)}, not a dict"),
        };
        for (int i = 0; i < items.Count; i += 2) dict[items[i]!] = items[i + 1];
    }

    PyDict DictOf(List<object?> items)
    {
        var d = new PyDict();
        SetItems(d, items);
        return d;
    }

    // ---- input

    byte ReadByte() => _pos < _end ? _data[_pos++] : throw Truncated("an opcode", 1);

    uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    ReadOnlySpan<byte> Take(int n) => Take((ulong)n, "an argument");

    ReadOnlySpan<byte> Take(ulong n, string what)
    {
        if (n > (ulong)(_end - _pos)) throw Truncated($"{what} of {n} bytes", n);
        var span = new ReadOnlySpan<byte>(_data, _pos, (int)n);
        _pos += (int)n;
        return span;
    }

    ReadOnlySpan<byte> ReadLineBytes()
    {
        int limit = (int)Math.Min(_end, (long)_pos + _options.MaxLineLength + 1);
        int nl = Array.IndexOf(_data, (byte)'\n', _pos, limit - _pos);
        if (nl < 0)
        {
            if (limit == _end) throw Truncated("a text line", 1);
            throw Fail($"a text argument is longer than {_options.MaxLineLength} bytes");
        }
        var line = new ReadOnlySpan<byte>(_data, _pos, nl - _pos);
        _pos = nl + 1;
        return line;
    }

    string ReadLine() => Ascii(ReadLineBytes()).TrimEnd('\r');

    static string Ascii(ReadOnlySpan<byte> b) => Encoding.UTF8.GetString(b);

    static string Utf8(ReadOnlySpan<byte> b) => Encoding.UTF8.GetString(b);

    static object Long(ReadOnlySpan<byte> le)
    {
        if (le.Length == 0) return 0L;
        if (le.Length <= 8) // most LONG1s (protocol 2 writes every int past 2^31 so): no BigInteger to allocate
        {
            long v = (sbyte)le[^1];
            for (int i = le.Length - 2; i >= 0; i--) v = (v << 8) | le[i];
            return v;
        }
        var big = new BigInteger(le, isUnsigned: false, isBigEndian: false);
        return big >= long.MinValue && big <= long.MaxValue ? (object)(long)big : big;
    }

    object TextInt(string s)
    {
        if (s == "00") return false;
        if (s == "01") return true;
        return TextLong(s);
    }

    object TextLong(string s)
    {
        var t = s.EndsWith('L') ? s[..^1] : s;
        if (t.Length > 4300 || !BigInteger.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big))
            throw Fail($"'{Short(s)}' is not an integer");
        return big >= long.MinValue && big <= long.MaxValue ? (object)(long)big : big;
    }

    double TextFloat(string s) => s.ToLowerInvariant() switch
    {
        "inf" or "+inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        "nan" or "+nan" or "-nan" => double.NaN,
        _ => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : throw Fail($"'{Short(s)}' is not a float"),
    };

    long ParseIndex(string s) =>
        long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : throw Fail($"'{Short(s)}' is not a memo index");

    /// <summary>Protocol 0 STRING: a quoted Python 2 literal with backslash escapes.</summary>
    byte[] PythonStringLiteral(string s)
    {
        if (s.Length < 2 || (s[0] != '\'' && s[0] != '"') || s[^1] != s[0])
            throw Fail($"STRING argument {Short(s)} is not quoted");
        var body = s[1..^1];
        var bytes = new List<byte>(body.Length);
        for (int i = 0; i < body.Length; i++)
        {
            char c = body[i];
            if (c != '\\') { bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString())); continue; }
            if (++i >= body.Length) throw Fail("STRING ends in a lone backslash");
            char e = body[i];
            switch (e)
            {
                case 'n': bytes.Add((byte)'\n'); break;
                case 't': bytes.Add((byte)'\t'); break;
                case 'r': bytes.Add((byte)'\r'); break;
                case 'a': bytes.Add(7); break;
                case 'b': bytes.Add(8); break;
                case 'f': bytes.Add(12); break;
                case 'v': bytes.Add(11); break;
                case '0' or '1' or '2' or '3' or '4' or '5' or '6' or '7':
                {
                    int v = 0, k = 0;
                    while (k < 3 && i < body.Length && body[i] is >= '0' and <= '7') { v = v * 8 + (body[i] - '0'); i++; k++; }
                    i--;
                    bytes.Add((byte)v);
                    break;
                }
                case 'x':
                    if (i + 2 >= body.Length) throw Fail("STRING has a short \\x escape");
                    bytes.Add(byte.Parse(body.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 2;
                    break;
                default: bytes.Add((byte)'\\'); bytes.AddRange(Encoding.UTF8.GetBytes(e.ToString())); break;
            }
        }
        return bytes.ToArray();
    }

    /// <summary>Protocol 0 UNICODE: latin-1 text with \uXXXX and \UXXXXXXXX escapes.</summary>
    string RawUnicodeEscape(ReadOnlySpan<byte> b)
    {
        var sb = new StringBuilder(b.Length);
        for (int i = 0; i < b.Length; i++)
        {
            if (b[i] == '\\' && i + 1 < b.Length && (b[i + 1] == 'u' || b[i + 1] == 'U'))
            {
                int n = b[i + 1] == 'u' ? 4 : 8;
                if (i + 2 + n > b.Length) throw Fail("UNICODE has a short \\u escape");
                int cp = int.Parse(Encoding.ASCII.GetString(b.Slice(i + 2, n)), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                sb.Append(char.ConvertFromUtf32(cp));
                i += 1 + n;
            }
            else sb.Append((char)b[i]);
        }
        return sb.ToString();
    }

    static string Short(string s) => s.Length > 40 ? s[..40] + "…" : s;

    // ---- errors

    CheckpointFormatException Fail(string detail, string? expected = null, string? found = null) =>
        new(FormatErrorReason.PickleInvalid, _file, null, $"{detail} at byte {_opStart}", expected, found);

    CheckpointFormatException Truncated(string what, ulong needed)
    {
        var e = new CheckpointFormatException(FormatErrorReason.PickleInvalid, _file, null,
            $"the pickle ends inside {what} at byte {_opStart} (no STOP)",
            expected: $"{needed} more bytes", found: $"{_end - _pos} bytes");
        e.Data[TruncatedKey] = true;
        return e;
    }
}
