using System.IO.Hashing;
using Ckpt.Formats.Safetensors;
using Ckpt.Monitoring;
using Ckpt.Pickle;

namespace Ckpt.Formats.TorchSave;

/// <summary>
/// Writes torch.save zip archives that `torch.load(..., weights_only=True)` reads: `data.pkl` (protocol 2) holds
/// an OrderedDict of `torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())` with
/// persistent ids `('storage', torch.FloatStorage, key, 'cpu', numel)`; each storage is record `data/&lt;key&gt;`,
/// stored and 64-byte aligned; `byteorder` is "little", `version` "3". Records sit under one folder, the file's
/// stem for files (as torch names it) and `archive` for in-memory payloads. Tensors load one at a time.
/// </summary>
public static class TorchSaveWriter
{
    /// <summary>Writes a state dict (name → tensor, in order) to <paramref name="path"/>, via a temp file and rename.</summary>
    public static long Write(string path, IReadOnlyList<TensorSource> tensors, OperationTimeline? timeline = null, CancellationToken cancellationToken = default) =>
        WriteViaTemp(path, stream => WriteStateDict(stream, Path.GetFileNameWithoutExtension(path), tensors, timeline, cancellationToken));

    /// <summary>Writes a new temp file beside <paramref name="path"/>, fsyncs it and renames it into place; its length.</summary>
    static long WriteViaTemp(string path, Action<FileStream> write)
    {
        var tmp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            long length;
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
                length = stream.Length;
            }
            File.Move(tmp, path, overwrite: true);
            return length;
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    public static void WriteStateDict(Stream stream, string archiveName, IReadOnlyList<TensorSource> tensors,
        OperationTimeline? timeline = null, CancellationToken cancellationToken = default)
    {
        var pickle = new PickleWriter(2);
        pickle.Global("collections", "OrderedDict").EmptyTuple().Reduce();
        if (tensors.Count > 0)
        {
            pickle.Mark();
            for (int i = 0; i < tensors.Count; i++)
            {
                pickle.String(tensors[i].Name);
                RebuildTensor(pickle, tensors[i].DType, tensors[i].Shape, i.ToString());
            }
            pickle.SetItems();
        }
        var zip = Begin(stream, archiveName, pickle.Finish());
        for (int i = 0; i < tensors.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var start = timeline?.Now;
            using var data = tensors[i].Load();
            if (data.DType != tensors[i].DType || data.ByteLength != tensors[i].ByteCount)
                throw new InvalidOperationException($"tensor '{tensors[i].Name}' loaded as {data.DType} {data.ByteLength} bytes, expected {tensors[i].DType} {tensors[i].ByteCount}");
            var loaded = timeline?.Now;
            AddStorage(zip, archiveName, i.ToString(), data);
            if (timeline is not null)
            {
                timeline.Record("load", tensors[i].Name, start!.Value, data.ByteLength);
                timeline.Record("write", archiveName, loaded!.Value, data.ByteLength);
            }
        }
        End(zip, archiveName);
    }

    /// <summary>
    /// Writes a nested Python value whose leaves may be tensors (<see cref="TensorSource"/>, loaded one at a time while
    /// writing, or <see cref="TensorData"/>, not disposed): dicts (IDictionary, <see cref="PyDict"/>), lists, tuples
    /// (<see cref="PyTuple"/>, value tuples) and plain scalars, as <see cref="PickleWriter.Value"/> writes them. An
    /// optimizer's `state_dict()` (<see cref="OptimizerStateDict"/>) is such a value. Via a temp file and rename.
    /// </summary>
    public static long WriteObject(string path, object? root, CancellationToken cancellationToken = default) =>
        WriteViaTemp(path, stream =>
        {
            var archiveName = Path.GetFileNameWithoutExtension(path);
            var pickle = new PickleWriter(2);
            var leaves = new List<object>();
            WriteNested(pickle, root, leaves, 0);
            var zip = Begin(stream, archiveName, pickle.Finish());
            for (int i = 0; i < leaves.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (leaves[i] is TensorData data) AddStorage(zip, archiveName, i.ToString(), data);
                else
                {
                    var source = (TensorSource)leaves[i];
                    using var loaded = source.Load();
                    if (loaded.DType != source.DType || loaded.ByteLength != source.ByteCount)
                        throw new InvalidOperationException($"tensor '{source.Name}' loaded as {loaded.DType} {loaded.ByteLength} bytes, expected {source.DType} {source.ByteCount}");
                    AddStorage(zip, archiveName, i.ToString(), loaded);
                }
            }
            End(zip, archiveName);
        });

    static void WriteNested(PickleWriter p, object? value, List<object> leaves, int depth)
    {
        if (depth > StateDictFlattener.MaxDepth) throw new ArgumentException("the value nests deeper than a state dict does");
        switch (value)
        {
            case TensorData t:
                leaves.Add(t);
                RebuildTensor(p, t.DType, t.Shape, (leaves.Count - 1).ToString());
                return;
            case TensorSource t:
                leaves.Add(t);
                RebuildTensor(p, t.DType, t.Shape, (leaves.Count - 1).ToString());
                return;
            case PyDict d:
                p.Dict(w => { foreach (var kv in d) { w.Value(kv.Key); WriteNested(w, kv.Value, leaves, depth + 1); } }, d.Count == 0);
                return;
            case System.Collections.IDictionary d:
                p.Dict(w => { foreach (System.Collections.DictionaryEntry e in d) { w.Value(e.Key); WriteNested(w, e.Value, leaves, depth + 1); } }, d.Count == 0);
                return;
            case PyTuple t:
                p.Tuple(t.Count, w => { foreach (var x in t) WriteNested(w, x, leaves, depth + 1); });
                return;
            case System.Runtime.CompilerServices.ITuple t:
                p.Tuple(t.Length, w => { for (int i = 0; i < t.Length; i++) WriteNested(w, t[i], leaves, depth + 1); });
                return;
            case System.Collections.IList l when l is not byte[]:
                p.EmptyList();
                if (l.Count == 0) return;
                p.Mark();
                foreach (var x in l) WriteNested(p, x, leaves, depth + 1);
                p.Appends();
                return;
            default:
                p.Value(value);
                return;
        }
    }

    /// <summary>One tensor as its own archive: the payload of a DCP tensor chunk.</summary>
    public static void WriteTensor(Stream stream, TensorData tensor, string archiveName = "archive")
    {
        var pickle = new PickleWriter(2);
        RebuildTensor(pickle, tensor.DType, tensor.Shape, "0");
        var zip = Begin(stream, archiveName, pickle.Finish());
        AddStorage(zip, archiveName, "0", tensor);
        End(zip, archiveName);
    }

    /// <summary>A plain Python object (ints, floats, strings, lists, dicts) as a torch.save archive: a DCP bytes item.</summary>
    public static byte[] SaveObject(object? value, string archiveName = "archive")
    {
        var pickle = new PickleWriter(2);
        pickle.Value(value);
        using var buffer = new MemoryStream();
        var zip = Begin(buffer, archiveName, pickle.Finish());
        End(zip, archiveName);
        return buffer.ToArray();
    }

    static StoredZipWriter Begin(Stream stream, string archiveName, byte[] dataPkl)
    {
        var zip = new StoredZipWriter(stream);
        zip.Add(archiveName + "/data.pkl", dataPkl);
        zip.Add(archiveName + "/.format_version", "1");
        zip.Add(archiveName + "/.storage_alignment", StoredZipWriter.Alignment.ToString());
        zip.Add(archiveName + "/byteorder", "little");
        return zip;
    }

    static void End(StoredZipWriter zip, string archiveName)
    {
        zip.Add(archiveName + "/version", "3\n");
        zip.Finish();
    }

    static void AddStorage(StoredZipWriter zip, string archiveName, string key, TensorData data)
    {
        var crc = new Crc32();
        for (long o = 0; o < data.ByteLength; o += 1 << 30) crc.Append(data.Slice(o, (int)Math.Min(1 << 30, data.ByteLength - o)));
        zip.Add($"{archiveName}/data/{key}", data.ByteLength, crc.GetCurrentHashAsUInt32(), s =>
        {
            for (long o = 0; o < data.ByteLength; o += 1 << 30) s.Write(data.Slice(o, (int)Math.Min(1 << 30, data.ByteLength - o)));
        });
    }

    /// <summary>`_rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())` for a contiguous tensor.</summary>
    static void RebuildTensor(PickleWriter p, DType dtype, IReadOnlyList<long> shape, string key)
    {
        p.Global("torch._utils", "_rebuild_tensor_v2");
        p.Mark();
        p.Mark().String("storage").Global("torch", StorageClass(dtype)).String(key).String("cpu")
            .Int(Shapes.ElementCount(shape)).TupleFromMark().BinPersId();
        p.Int(0).IntTuple(shape).IntTuple(Shapes.ContiguousStrides(shape)).Bool(false);
        p.Global("collections", "OrderedDict").EmptyTuple().Reduce();
        p.TupleFromMark().Reduce();
    }

    /// <summary>The typed-storage class torch ≥ 2 pickles per dtype (`_pickle_storage_type`).</summary>
    public static string StorageClass(DType dtype) => dtype switch
    {
        DType.F8_E4M3 => "Float8_e4m3fnStorage",
        DType.F8_E5M2 => "Float8_e5m2Storage",
        DType.F8_E4M3FNUZ => "Float8_e4m3fnuzStorage",
        DType.F8_E5M2FNUZ => "Float8_e5m2fnuzStorage",
        DType.U16 => "UInt16Storage",
        DType.U32 => "UInt32Storage",
        DType.U64 => "UInt64Storage",
        DType.F8_E8M0 or DType.F4 => throw new CheckpointFormatException(FormatErrorReason.Unsupported, null, null,
            $"torch.save writing of {dtype} is not supported"),
        _ => dtype.TorchStorageClass(),
    };
}
