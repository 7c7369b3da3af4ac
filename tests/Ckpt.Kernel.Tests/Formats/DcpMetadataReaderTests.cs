using Ckpt.Formats.Dcp;
using Ckpt.Storage;
using Ckpt.Tensors;

namespace Ckpt.Tests.Formats;

/// <summary>The pickled `Metadata` of the real fixtures, as records.</summary>
public class DcpMetadataReaderTests
{
    static DcpMetadata Read(string fixture)
    {
        using var storage = new LocalStorage(TestPaths.Fixture(fixture));
        return DcpMetadataReader.Read(storage, ".metadata");
    }

    [Fact]
    public void The_dtensor_metadata_lists_every_chunk_and_its_storage()
    {
        var meta = Read("dcp-dtensor1d-4rank");
        Assert.Equal(41, meta.StateDict.Count);
        var tensors = meta.StateDict.Where(kv => kv.Value is DcpTensorItem).ToDictionary(kv => kv.Key, kv => (DcpTensorItem)kv.Value);
        Assert.Equal(39, tensors.Count);
        var embed = tensors["model.embed_tokens.weight"];
        Assert.Equal(DType.F32, embed.DType);
        Assert.Equal([512L, 64], embed.Shape);
        Assert.Equal([0L, 128, 256, 384], embed.Chunks.Select(c => c.Offsets[0]));
        Assert.All(embed.Chunks, c => Assert.Equal([128L, 64], c.Sizes));
        Assert.IsType<DcpBytesItem>(meta.StateDict.Single(kv => kv.Key == "scalar_meta.note").Value);

        Assert.Equal(39 * 4 + 2, meta.StorageData.Count);
        var first = meta.StorageData.First(s => s.Fqn == "model.layers.0.input_layernorm.weight");
        Assert.Equal(new DcpStorageInfo("__0_0.distcp", 0, 1641), first.Info);
        Assert.Equal([0L], first.Offset);
        var note = meta.StorageData.Single(s => s.Fqn == "scalar_meta.note");
        Assert.Null(note.Offset);
        Assert.Null(note.Info.Transforms);

        Assert.Equal("1.0.0", meta.Version);
        Assert.Equal("/tmp/fx/dcp-dtensor1d-4rank", meta.StorageMeta!.CheckpointId);
        Assert.Equal(36, meta.StorageMeta.SaveId!.Length);
        Assert.Equal(["scalar_meta", "step"], meta.PlannerData!["scalar_meta.step"]);
        Assert.Empty(meta.Extra);
    }

    [Fact]
    public void The_fsdp2_metadata_holds_model_optimizer_and_train_state()
    {
        var meta = Read("dcp-fsdp2-4rank");
        var keys = meta.StateDict.Select(kv => kv.Key).ToArray();
        Assert.Equal(39, keys.Count(k => k.StartsWith("model.", StringComparison.Ordinal)));
        Assert.Equal(39, keys.Count(k => k.EndsWith(".exp_avg_sq", StringComparison.Ordinal)));
        Assert.Equal(39, keys.Count(k => k.EndsWith(".step", StringComparison.Ordinal) && k.StartsWith("optim.state.", StringComparison.Ordinal)));
        var step = (DcpTensorItem)meta.StateDict.Single(kv => kv.Key == "optim.state.lm_head.weight.step").Value;
        Assert.Empty(step.Shape);
        Assert.Empty(Assert.Single(step.Chunks).Sizes);
        Assert.All(keys.Where(k => k.StartsWith("optim.param_groups.", StringComparison.Ordinal) || k.StartsWith("train_state.", StringComparison.Ordinal)),
            k => Assert.IsType<DcpBytesItem>(meta.StateDict.Single(kv => kv.Key == k).Value));
    }
}
