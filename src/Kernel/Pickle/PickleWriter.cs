using System.Buffers.Binary;
using System.Collections;

namespace Ckpt.Pickle;

/// <summary>
/// Emits Python pickle opcodes (protocol 2 by default, as torch.save writes; BINBYTES from protocol 3).
/// Writers drive it opcode by opcode, mirroring what CPython's pickler emits for the same objects:
/// globals (memoised, so repeated classes cost two bytes), dataclasses as NEWOBJ + BUILD, tuples with
/// TUPLE1-3, dicts and lists with MARK + SETITEMS / APPENDS. Nothing here depends on the reader side.
/// </summary>
public sealed class PickleWriter
{
    readonly MemoryStream _out = new();
    readonly Dictionary<(string, string), int> _globals = new();
    int _memo;

    public PickleWriter(int protocol = 2)
    {
        if (protocol is < 2 or > 5) throw new ArgumentOutOfRangeException(nameof(protocol), "protocols 2-5 are supported");
        Protocol = protocol;
        Op(0x80); _out.WriteByte((byte)protocol); // PROTO
    }

    public int Protocol { get; }

    /// <summary>Writes STOP and returns the pickle.</summary>
    public byte[] Finish()
    {
        Op((byte)'.');
        return _out.ToArray();
    }

    public PickleWriter None() => Op((byte)'N');
    public PickleWriter Bool(bool value) => Op(value ? (byte)0x88 : (byte)0x89);

    public PickleWriter Int(long value)
    {
        if (value is >= 0 and <= 0xFF) { Op((byte)'K'); _out.WriteByte((byte)value); }
        else if (value is >= 0 and <= 0xFFFF) { Op((byte)'M'); Write16((ushort)value); }
        else if (value is >= int.MinValue and <= int.MaxValue) { Op((byte)'J'); Write32((int)value); }
        else
        {
            // LONG1: little-endian two's complement, shortest form.
            var bytes = new System.Numerics.BigInteger(value).ToByteArray();
            Op(0x8a); _out.WriteByte((byte)bytes.Length); _out.Write(bytes);
        }
        return this;
    }

    public PickleWriter Float(double value)
    {
        Op((byte)'G');
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleBigEndian(b, value);
        _out.Write(b);
        return this;
    }

    /// <summary>BINUNICODE, as protocol 2 writes every str.</summary>
    public PickleWriter String(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        Op((byte)'X'); Write32(bytes.Length); _out.Write(bytes);
        return this;
    }

    /// <summary>Python bytes: BINBYTES from protocol 3; in protocol 2 `_codecs.encode(latin1 str, 'latin1')`, as CPython does.</summary>
    public PickleWriter Bytes(ReadOnlySpan<byte> value)
    {
        if (Protocol >= 3)
        {
            if (value.Length < 256) { Op((byte)'C'); _out.WriteByte((byte)value.Length); }
            else { Op((byte)'B'); Write32(value.Length); }
            _out.Write(value);
            return this;
        }
        Global("_codecs", "encode");
        var latin1 = new StringBuilder(value.Length);
        foreach (var b in value) latin1.Append((char)b);
        String(latin1.ToString()).String("latin1").Tuple2().Reduce();
        return this;
    }

    /// <summary>GLOBAL module.name, memoised on first use.</summary>
    public PickleWriter Global(string module, string name)
    {
        if (_globals.TryGetValue((module, name), out var slot)) return Get(slot);
        Op((byte)'c');
        _out.Write(Encoding.ASCII.GetBytes(module + "\n" + name + "\n"));
        _globals[(module, name)] = _memo;
        return Put();
    }

    public PickleWriter Mark() => Op((byte)'(');
    public PickleWriter EmptyTuple() => Op((byte)')');
    public PickleWriter Tuple1() => Op(0x85);
    public PickleWriter Tuple2() => Op(0x86);
    public PickleWriter Tuple3() => Op(0x87);
    /// <summary>TUPLE: the items since the last MARK.</summary>
    public PickleWriter TupleFromMark() => Op((byte)'t');
    public PickleWriter EmptyDict() => Op((byte)'}');
    public PickleWriter EmptyList() => Op((byte)']');
    public PickleWriter SetItems() => Op((byte)'u');
    public PickleWriter Appends() => Op((byte)'e');
    public PickleWriter Reduce() => Op((byte)'R');
    public PickleWriter Build() => Op((byte)'b');
    public PickleWriter NewObj() => Op(0x81);
    public PickleWriter BinPersId() => Op((byte)'Q');

    /// <summary>A tuple of <paramref name="count"/> items written by <paramref name="items"/>, with the opcodes CPython picks.</summary>
    public PickleWriter Tuple(int count, Action<PickleWriter> items)
    {
        if (count == 0) return EmptyTuple();
        if (count > 3) Mark();
        items(this);
        return count switch { 1 => Tuple1(), 2 => Tuple2(), 3 => Tuple3(), _ => TupleFromMark() };
    }

    public PickleWriter IntTuple(IReadOnlyList<long> values) => Tuple(values.Count, w => { foreach (var v in values) w.Int(v); });

    /// <summary>A dict whose entries <paramref name="items"/> writes as key, value pairs.</summary>
    public PickleWriter Dict(Action<PickleWriter> items, bool empty = false)
    {
        EmptyDict();
        if (empty) return this;
        Mark(); items(this); return SetItems();
    }

    /// <summary>`cls.__new__(cls)` then BUILD with a field dict: how CPython pickles a dataclass.</summary>
    public PickleWriter Dataclass(string module, string name, Action<PickleWriter>? fields)
    {
        Global(module, name).EmptyTuple().NewObj();
        if (fields is null) return this;
        Dict(fields);
        return Build();
    }

    /// <summary>
    /// Plain data: None, bool, integers, floats, str, bytes, tuples (<see cref="PyTuple"/>, value tuples), dicts
    /// (<see cref="PyDict"/>, IDictionary), sets, and other sequences as lists. What the restricted unpickler
    /// returns for plain data writes back as the same Python values.
    /// </summary>
    public PickleWriter Value(object? value)
    {
        switch (value)
        {
            case null or PyNone: return None();
            case bool b: return Bool(b);
            case byte or sbyte or short or ushort or int or uint or long: return Int(Convert.ToInt64(value));
            case System.Numerics.BigInteger big:
                if (big >= long.MinValue && big <= long.MaxValue) return Int((long)big);
                var bytes4 = big.ToByteArray();
                Op(0x8b); Write32(bytes4.Length); _out.Write(bytes4); // LONG4
                return this;
            case float or double or decimal: return Float(Convert.ToDouble(value));
            case string s: return String(s);
            case byte[] bytes: return Bytes(bytes);
            case PyTuple t: return Tuple(t.Count, w => { foreach (var x in t) w.Value(x); });
            case System.Runtime.CompilerServices.ITuple t:
                return Tuple(t.Length, w => { for (int i = 0; i < t.Length; i++) w.Value(t[i]); });
            case PyDict d:
                return Dict(w => { foreach (var kv in d) { w.Value(kv.Key); w.Value(kv.Value); } }, d.Count == 0);
            case IDictionary d:
                return Dict(w => { foreach (DictionaryEntry e in d) { w.Value(e.Key); w.Value(e.Value); } }, d.Count == 0);
            case PySet set:
                // builtins.set([items]) / frozenset: what protocol 2 pickles a set as.
                Global("builtins", set.Frozen ? "frozenset" : "set");
                Value(set.ToList()); Tuple1(); return Reduce();
            case IEnumerable e:
                var items = e.Cast<object?>().ToArray();
                EmptyList();
                if (items.Length == 0) return this;
                Mark(); foreach (var x in items) Value(x);
                return Appends();
            default:
                throw new ArgumentException($"cannot pickle a {value.GetType().Name}");
        }
    }

    /// <summary>Whether <see cref="Value"/> can write this value (plain data only, bounded depth).</summary>
    public static bool CanWrite(object? value, int depth = 0) => depth < 64 && value switch
    {
        null or PyNone or bool or string or byte[] or System.Numerics.BigInteger => true,
        byte or sbyte or short or ushort or int or uint or long or float or double or decimal => true,
        PyTuple t => t.All(x => CanWrite(x, depth + 1)),
        System.Runtime.CompilerServices.ITuple t => Enumerable.Range(0, t.Length).All(i => CanWrite(t[i], depth + 1)),
        PyDict d => d.All(kv => CanWrite(kv.Key, depth + 1) && CanWrite(kv.Value, depth + 1)),
        IDictionary d => d.Keys.Cast<object?>().All(k => CanWrite(k, depth + 1)) && d.Values.Cast<object?>().All(v => CanWrite(v, depth + 1)),
        PyObject or PyGlobal or TorchTensor or TorchStorage => false,
        IEnumerable e => e.Cast<object?>().All(v => CanWrite(v, depth + 1)),
        _ => false,
    };

    PickleWriter Put()
    {
        int slot = _memo++;
        if (slot < 256) { Op((byte)'q'); _out.WriteByte((byte)slot); }
        else { Op((byte)'r'); Write32(slot); }
        return this;
    }

    PickleWriter Get(int slot)
    {
        if (slot < 256) { Op((byte)'h'); _out.WriteByte((byte)slot); }
        else { Op((byte)'j'); Write32(slot); }
        return this;
    }

    PickleWriter Op(byte code) { _out.WriteByte(code); return this; }

    void Write16(ushort v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); _out.Write(b); }
    void Write32(int v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, v); _out.Write(b); }
}
