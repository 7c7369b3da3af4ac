using Ckpt.Errors;
using Ckpt.Formats;
using Ckpt.Formats.Dcp;
using Ckpt.Storage;

namespace Ckpt.Tests.Formats;

/// <summary>The length checks every small metadata file (HF index, DCP `.metadata`) passes before it is read.</summary>
public class MetadataFileTests
{
    static MemoryStorage One(string name, byte[] bytes) => new(new Dictionary<string, byte[]> { [name] = bytes });

    [Fact]
    public void An_empty_index_is_refused_as_an_empty_file()
    {
        var e = Assert.Throws<CheckpointFormatException>(() => HfIndex.Read(One("model.safetensors.index.json", []), "model.safetensors.index.json"));
        Assert.Equal(FormatErrorReason.EmptyFile, e.Reason);
        Assert.Contains("the index file is empty", e.Message);
    }

    [Fact]
    public void An_index_over_64_MB_is_refused_with_the_limit_and_its_length()
    {
        var storage = One("model.safetensors.index.json", new byte[64 * 1024 * 1024 + 1]);
        var e = Assert.Throws<CheckpointFormatException>(() => HfIndex.Read(storage, "model.safetensors.index.json"));
        Assert.Equal(FormatErrorReason.HeaderTooLarge, e.Reason);
        Assert.Contains("the index file is larger than 64 MB", e.Message);
        Assert.Equal("≤ 67108864 bytes", e.Expected);
        Assert.Equal("67108865 bytes", e.Found);
        Assert.Equal(0, storage.Statistics.ReadCalls);
    }

    [Fact]
    public void An_empty_dcp_metadata_is_refused_as_an_empty_file()
    {
        var e = Assert.Throws<CheckpointFormatException>(() => DcpMetadataReader.Read(One(".metadata", []), ".metadata"));
        Assert.Equal(FormatErrorReason.EmptyFile, e.Reason);
        Assert.Contains("the DCP .metadata file is empty", e.Message);
    }
}
