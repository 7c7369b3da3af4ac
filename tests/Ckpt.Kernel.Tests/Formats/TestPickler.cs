using System.Buffers.Binary;
using System.Text;

namespace Ckpt.Tests.Formats;

/// <summary>
/// A tiny protocol-2 pickle writer for building test inputs (DCP `.metadata` variants). Values: null, bool,
/// long/int, double, string, <see cref="Tup"/>, List (list), <see cref="Dict"/>, <see cref="Global"/>,
/// <see cref="Call"/> (REDUCE) and <see cref="Obj"/> (NEWOBJ + BUILD, as dataclasses pickle).
/// </summary>
static class TestPickler
{
    public sealed record Global(string Module, string Name);
    public sealed record Call(object Callable, params object?[] Args);
    public sealed record Obj(Global Class, object? State);
    public sealed record Tup(params object?[] Items);
    public sealed class Dict : List<KeyValuePair<object?, object?>>
    {
        public void Add(object? key, object? value) => Add(new KeyValuePair<object?, object?>(key, value));
    }

    public static byte[] Dump(object? value)
    {
        var s = new MemoryStream();
        s.Write([0x80, 2]);
        Emit(s, value);
        s.WriteByte((byte)'.');
        return s.ToArray();
    }

    static void Emit(MemoryStream s, object? v)
    {
        switch (v)
        {
            case null: s.WriteByte((byte)'N'); break;
            case bool b: s.WriteByte(b ? (byte)0x88 : (byte)0x89); break;
            case int i: EmitLong(s, i); break;
            case long l: EmitLong(s, l); break;
            case double d:
                s.WriteByte((byte)'G');
                Span<byte> f = stackalloc byte[8];
                BinaryPrimitives.WriteDoubleBigEndian(f, d);
                s.Write(f);
                break;
            case string str:
                var bytes = Encoding.UTF8.GetBytes(str);
                s.WriteByte((byte)'X');
                Span<byte> n = stackalloc byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(n, bytes.Length);
                s.Write(n);
                s.Write(bytes);
                break;
            case Global g: s.Write(Encoding.ASCII.GetBytes($"c{g.Module}\n{g.Name}\n")); break;
            case Tup t:
                if (t.Items.Length == 0) { s.WriteByte((byte)')'); break; }
                s.WriteByte((byte)'(');
                foreach (var x in t.Items) Emit(s, x);
                s.WriteByte((byte)'t');
                break;
            case Dict dict:
                s.WriteByte((byte)'}');
                if (dict.Count == 0) break;
                s.WriteByte((byte)'(');
                foreach (var kv in dict) { Emit(s, kv.Key); Emit(s, kv.Value); }
                s.WriteByte((byte)'u');
                break;
            case System.Collections.IList list:
                s.WriteByte((byte)']');
                if (list.Count == 0) break;
                s.WriteByte((byte)'(');
                foreach (var x in list) Emit(s, x);
                s.WriteByte((byte)'e');
                break;
            case Call c:
                Emit(s, c.Callable);
                Emit(s, new Tup(c.Args));
                s.WriteByte((byte)'R');
                break;
            case Obj o:
                Emit(s, o.Class);
                s.WriteByte((byte)')');
                s.WriteByte(0x81);
                Emit(s, o.State);
                s.WriteByte((byte)'b');
                break;
            default: throw new ArgumentException($"TestPickler cannot write {v.GetType()}");
        }
    }

    static void EmitLong(MemoryStream s, long l)
    {
        if (l is >= 0 and < 256) { s.WriteByte((byte)'K'); s.WriteByte((byte)l); return; }
        if (l is >= int.MinValue and <= int.MaxValue)
        {
            s.WriteByte((byte)'J');
            Span<byte> b4 = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b4, (int)l);
            s.Write(b4);
            return;
        }
        s.WriteByte(0x8a);
        s.WriteByte(8);
        Span<byte> b8 = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b8, l);
        s.Write(b8);
    }
}
