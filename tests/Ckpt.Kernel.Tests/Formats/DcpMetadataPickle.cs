using Ckpt.Formats.Dcp;
using Ckpt.Tensors;
using static Ckpt.Tests.Formats.TestPickler;

namespace Ckpt.Tests.Formats;

/// <summary>
/// Writes a <see cref="DcpMetadata"/> back as the pickle torch's `.metadata` is (dataclasses as NEWOBJ+BUILD,
/// TensorProperties as its 5-tuple state, torch.Size as REDUCE), so tests can build variants of a fixture.
/// </summary>
static class DcpMetadataPickle
{
    public sealed record Options(
        string MetadataModule = "torch.distributed.checkpoint.metadata",
        string PropertiesModule = "torch.distributed.checkpoint.metadata",
        string MemFormatName = "_MEM_FORMAT_ENCODING",
        string MetadataClassModule = "torch.distributed.checkpoint.metadata",
        IReadOnlyDictionary<string, object?>? ExtraAttributes = null,
        bool OmitStorageMetaAndVersion = false);

    public static byte[] Write(DcpMetadata meta, Options? options = null)
    {
        var o = options ?? new Options();
        var m = o.MetadataModule;
        Global G(string name) => new(m, name);
        object Size(IReadOnlyList<long> dims) => new Call(new Global("torch", "Size"), new Tup(dims.Select(d => (object?)d).ToArray()));

        var sdm = new Dict();
        foreach (var (fqn, item) in meta.StateDict)
        {
            if (item is DcpBytesItem) { sdm.Add(fqn, new Obj(G("BytesStorageMetadata"), new Dict())); continue; }
            var t = (DcpTensorItem)item;
            var props = new Obj(new Global(o.PropertiesModule, "TensorProperties"), new Tup(
                new Global("torch", t.DType.TorchName()),
                new Call(new Global("torch.serialization", "_get_layout"), "torch.strided"),
                false,
                new Call(new Global(o.PropertiesModule, o.MemFormatName), 0),
                false));
            var chunks = t.Chunks.Select(c => (object?)new Obj(G("ChunkStorageMetadata"),
                new Dict { { "offsets", Size(c.Offsets) }, { "sizes", Size(c.Sizes) } })).ToList();
            sdm.Add(fqn, new Obj(G("TensorStorageMetadata"), new Dict { { "properties", props }, { "size", Size(t.Shape) }, { "chunks", chunks } }));
        }

        object? planner = null;
        if (meta.PlannerData is not null)
        {
            var pd = new Dict();
            foreach (var (k, path) in meta.PlannerData) pd.Add(k, new Tup(path.ToArray()));
            planner = pd;
        }

        var storage = new Dict();
        foreach (var s in meta.StorageData)
        {
            var index = new Dict { { "fqn", s.Fqn }, { "index", s.Index } };
            if (s.Offset is not null) index.Add("offset", Size(s.Offset));
            var info = new Dict { { "relative_path", s.Info.RelativePath }, { "offset", s.Info.Offset }, { "length", s.Info.Length } };
            if (s.Info.Transforms is not null) info.Add("transform_descriptors", s.Info.Transforms.Select(x => (object?)x).ToList());
            storage.Add(new Obj(G("MetadataIndex"), index), new Obj(new Global("torch.distributed.checkpoint.filesystem", "_StorageInfo"), info));
        }

        var state = new Dict { { "state_dict_metadata", sdm }, { "planner_data", planner }, { "storage_data", storage } };
        if (!o.OmitStorageMetaAndVersion)
        {
            state.Add("storage_meta", meta.StorageMeta is null ? null : new Obj(G("StorageMeta"), new Dict
            {
                { "checkpoint_id", meta.StorageMeta.CheckpointId }, { "save_id", meta.StorageMeta.SaveId },
                { "load_id", meta.StorageMeta.LoadId }, { "modules", meta.StorageMeta.Modules.Select(x => (object?)x).ToList() },
            }));
            state.Add("version", meta.Version);
        }
        foreach (var (k, v) in o.ExtraAttributes ?? new Dictionary<string, object?>()) state.Add(k, v);
        return Dump(new Obj(new Global(o.MetadataClassModule, "Metadata"), state));
    }
}
