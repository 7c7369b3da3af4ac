using Ckpt.Pickle;
using Ckpt.Planning;

namespace Ckpt.Formats.Dcp;

/// <summary>Where one item landed: file, byte offset and length of its torch.save payload.</summary>
public sealed record DcpStoredItem(string Fqn, IReadOnlyList<long>? Offsets, string RelativePath, long Offset, long Length);

/// <summary>
/// Pickles `torch.distributed.checkpoint.metadata.Metadata` as torch 2.x does (formats.md §1.2): dataclasses as
/// NEWOBJ + BUILD(field dict); `TensorProperties` BUILD state the 5-tuple (dtype, layout, requires_grad,
/// `_MEM_FORMAT_ENCODING`, pin_memory) with the layout as `torch.serialization._get_layout('torch.strided')`;
/// `torch.Size` as REDUCE(torch.Size, (dims,)); `MetadataIndex(fqn, offset, index)` keys built before they are
/// inserted (their hash reads fqn and offset); `_StorageInfo` without `transform_descriptors`; `StorageMeta`;
/// `version` "1.0.0". Protocol 2 opcodes: any Python 3 `pickle.load` reads them.
/// </summary>
public static class DcpMetadataWriter
{
    const string Meta = "torch.distributed.checkpoint.metadata";
    public const string Version = "1.0.0";

    public static byte[] Pickle(IReadOnlyList<DcpTensorWrite> tensors, IReadOnlyList<DcpBytesWrite> bytesItems,
        IReadOnlyList<DcpStoredItem> stored, IReadOnlyDictionary<string, IReadOnlyList<object>>? plannerData = null, string? saveId = null)
    {
        var p = new PickleWriter(2);
        p.Dataclass(Meta, "Metadata", m =>
        {
            m.String("state_dict_metadata").Dict(sd =>
            {
                foreach (var t in tensors)
                {
                    sd.String(t.Fqn);
                    sd.Dataclass(Meta, "TensorStorageMetadata", f =>
                    {
                        f.String("properties");
                        f.Global(Meta, "TensorProperties").EmptyTuple().NewObj();
                        f.Tuple(5, s =>
                        {
                            s.Global("torch", t.DType.TorchName());
                            s.Global("torch.serialization", "_get_layout").String("torch.strided").Tuple1().Reduce();
                            s.Bool(false);
                            s.Global(Meta, "_MEM_FORMAT_ENCODING").Int(0).Tuple1().Reduce();
                            s.Bool(false);
                        });
                        f.Build();
                        f.String("size"); Size(f, t.Shape);
                        f.String("chunks").EmptyList();
                        var chunks = Chunks(t);
                        if (chunks.Count > 0)
                        {
                            f.Mark();
                            foreach (var c in chunks)
                                f.Dataclass(Meta, "ChunkStorageMetadata", cf =>
                                {
                                    cf.String("offsets"); Size(cf, c.Offsets);
                                    cf.String("sizes"); Size(cf, c.Lengths);
                                });
                            f.Appends();
                        }
                    });
                }
                foreach (var b in bytesItems)
                {
                    sd.String(b.Fqn);
                    sd.Dataclass(Meta, "BytesStorageMetadata", null);
                }
            }, tensors.Count + bytesItems.Count == 0);

            m.String("planner_data").Dict(pd =>
            {
                foreach (var fqn in tensors.Select(t => t.Fqn).Concat(bytesItems.Select(b => b.Fqn)))
                {
                    pd.String(fqn);
                    var path = plannerData?.GetValueOrDefault(fqn) ?? [fqn];
                    pd.Tuple(path.Count, w => { foreach (var part in path) w.Value(part); });
                }
            }, tensors.Count + bytesItems.Count == 0);

            // MetadataIndex.index: the chunk's position in its tensor's `chunks` list.
            var chunkIndex = new Dictionary<(string, string), int>();
            foreach (var t in tensors)
            {
                var chunks = Chunks(t);
                for (int i = 0; i < chunks.Count; i++) chunkIndex[(t.Fqn, string.Join(",", chunks[i].Offsets))] = i;
            }
            m.String("storage_data").Dict(sdata =>
            {
                foreach (var s in stored)
                {
                    // MetadataIndex.index is a lookup hint into `chunks`; equality and hash ignore it.
                    sdata.Dataclass(Meta, "MetadataIndex", k =>
                    {
                        k.String("fqn").String(s.Fqn);
                        k.String("offset");
                        if (s.Offsets is null) k.None(); else Size(k, s.Offsets);
                        k.String("index");
                        if (s.Offsets is not null && chunkIndex.TryGetValue((s.Fqn, string.Join(",", s.Offsets)), out var index)) k.Int(index);
                        else k.None();
                    });
                    sdata.Dataclass("torch.distributed.checkpoint.filesystem", "_StorageInfo", v =>
                    {
                        v.String("relative_path").String(s.RelativePath);
                        v.String("offset").Int(s.Offset);
                        v.String("length").Int(s.Length);
                    });
                }
            }, stored.Count == 0);

            m.String("storage_meta").Dataclass(Meta, "StorageMeta", sm =>
            {
                sm.String("checkpoint_id").None();
                sm.String("save_id").String(saveId ?? Guid.NewGuid().ToString());
                sm.String("load_id").None();
                sm.String("modules").EmptyList();
            });
            m.String("version").String(Version);
        });
        return p.Finish();
    }

    /// <summary>The chunks listed in the metadata: the non-empty ones, or one whole chunk for an empty tensor.</summary>
    public static IReadOnlyList<Box> Chunks(DcpTensorWrite t)
    {
        var boxes = t.Chunks.Select(c => c.Box).Where(b => b.ElementCount > 0).ToList();
        if (boxes.Count == 0 && t.Chunks.Count > 0) boxes.Add(t.Chunks[0].Box);
        return boxes;
    }

    static void Size(PickleWriter p, IReadOnlyList<long> dims)
    {
        p.Global("torch", "Size");
        p.IntTuple(dims).Tuple1().Reduce();
    }
}
