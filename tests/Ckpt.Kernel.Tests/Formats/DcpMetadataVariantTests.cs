using Ckpt.Formats.Dcp;
using static Ckpt.Tests.Formats.TestPickler;

namespace Ckpt.Tests.Formats;

/// <summary>`.metadata` as other torch versions and frameworks pickle it still opens, with the same tensors.</summary>
public class DcpMetadataVariantTests
{
    const string Fixture = "dcp-dtensor1d-4rank";

    [Theory]
    [InlineData("torch.distributed._shard.sharded_tensor.metadata", "MEM_FORMAT_ENCODING")] // torch ≤ 2.2
    [InlineData("torch.distributed.checkpoint.metadata", "MEM_FORMAT_ENCODING")]           // torch 2.3 (PR #116248)
    [InlineData("torch.distributed.checkpoint.metadata", "_MEM_FORMAT_ENCODING")]          // current
    public void Every_TensorProperties_module_path_and_enum_name_is_accepted(string module, string memFormat)
    {
        using var copy = new MutatedCheckpoint(Fixture, withReference: true);
        copy.MutateDcpMetadata(meta => meta, new DcpMetadataPickle.Options(PropertiesModule: module, MemFormatName: memFormat));
        AssertSameTensorsAsTheFixture(copy);
    }

    [Fact]
    public void Metadata_from_before_storage_meta_and_version_opens()
    {
        using var copy = new MutatedCheckpoint(Fixture, withReference: true);
        copy.MutateDcpMetadata(meta => meta, new DcpMetadataPickle.Options(OmitStorageMetaAndVersion: true));
        using var ckpt = AssertSameTensorsAsTheFixture(copy);
        Assert.False(ckpt.Manifest.Metadata.ContainsKey("dcp.version"));
    }

    [Fact]
    public void Megatron_torch_dist_extra_attributes_are_kept_and_the_megatron_reader_takes_the_folder()
    {
        using var copy = new MutatedCheckpoint(Fixture, withReference: true);
        var mcore = new Dict { { "singleton_local_shards", false }, { "chunk_size", 4L } };
        copy.MutateDcpMetadata(meta => meta, new DcpMetadataPickle.Options(ExtraAttributes: new Dictionary<string, object?> { ["mcore_data"] = mcore }));
        File.WriteAllText(copy.File("metadata.json"), """{"sharded_backend": "torch_dist", "sharded_backend_version": 1}""");
        // metadata.json naming torch_dist sends the folder to MegatronTorchDistFormat, which reads it through DcpFormat.
        using var ckpt = AssertSameTensorsAsTheFixture(copy, "megatron-torch_dist");
        Assert.Equal("megatron", ckpt.Manifest.Framework);
        Assert.Equal("torch_dist", ckpt.Manifest.Metadata["megatron.sharded_backend"]);
        Assert.NotNull(ckpt.Manifest.Objects.Single(o => o.Name == ".metadata/mcore_data").Value);
    }

    [Fact]
    public void Metadata_without_planner_data_opens()
    {
        using var copy = new MutatedCheckpoint(Fixture, withReference: true);
        copy.MutateDcpMetadata(meta => meta with { PlannerData = null });
        using var ckpt = AssertSameTensorsAsTheFixture(copy);
        Assert.DoesNotContain(ckpt.Manifest.Objects, o => o.Name == DcpFormat.PlannerDataName);
    }

    static Checkpoint AssertSameTensorsAsTheFixture(MutatedCheckpoint copy, string format = "dcp")
    {
        var ckpt = Checkpoint.Open(copy.Path);
        using var original = Checkpoint.Open(TestPaths.Fixture(Fixture));
        Assert.Equal(format, ckpt.Manifest.Format);
        Assert.Equal(original.Manifest.Tensors.Select(t => (t.Name, t.DType, string.Join(",", t.Shape))),
            ckpt.Manifest.Tensors.Select(t => (t.Name, t.DType, string.Join(",", t.Shape))));
        using var a = original.Read("lm_head.weight");
        using var b = ckpt.Read("lm_head.weight");
        Assert.True(a.Bytes.SequenceEqual(b.Bytes));
        return ckpt;
    }
}
