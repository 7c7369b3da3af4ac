using Ckpt.Conversion;

namespace Ckpt.Tests.Conversion;

/// <summary>A converted model folder loads as that model: config and tokenizer files travel with the weights, as save_pretrained writes them.</summary>
public sealed class ModelFilesTests
{
    [Fact]
    public void Converting_copies_the_model_files_beside_the_source_and_rewrites_them_on_a_second_conversion_with_overwrite()
    {
        var dir = TestPaths.TempDirectory("model-files");
        using var source = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        var first = CheckpointConverter.Convert(source, new ConvertOptions(TargetFormat.Safetensors, dir));
        Assert.Equal(["config.json", "generation_config.json"], first.CopiedFiles.Select(Path.GetFileName));

        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"stale\": true}");
        var second = CheckpointConverter.Convert(source, new ConvertOptions(TargetFormat.Dcp, dir, Overwrite: true));
        Assert.Equal(2, second.CopiedFiles.Count);
        Assert.Empty(Directory.GetFiles(dir, "*.safetensors")); // the first output is replaced as a whole
        Assert.Equal(File.ReadAllText(TestPaths.Fixture("hf-llama-tiny-sharded", "config.json")), File.ReadAllText(Path.Combine(dir, "config.json")));
    }

    [Fact]
    public void A_source_without_model_files_copies_nothing()
    {
        var dir = TestPaths.TempDirectory("model-files-none");
        using var source = Checkpoint.Open(TestPaths.Fixture("dcp-fsdp2-4rank"));
        var result = CheckpointConverter.Convert(source, new ConvertOptions(TargetFormat.Safetensors, dir, Only: ["model.**"]));
        Assert.Empty(result.CopiedFiles);
    }
}
