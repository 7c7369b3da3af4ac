using Ckpt.Errors;
using Ckpt.Merging;
using static Ckpt.Tests.Merging.MergeTestData;

namespace Ckpt.Tests.Merging;

/// <summary>Inputs that do not line up are refused from their manifests, before any merged tensor is produced.</summary>
public class MergeValidationTests
{
    static float[] Ones(int n) => Enumerable.Repeat(1f, n).ToArray();

    static string Write(TempDirectory dir, string name, params (string, string, long[], byte[])[] tensors)
    {
        var path = Path.Combine(dir.Path, name + ".safetensors");
        WriteSafetensors(path, tensors);
        return path;
    }

    static (CheckpointFormatException Error, MemoryTensorSink Sink) Merge(string a, string b)
    {
        var sink = new MemoryTensorSink();
        var e = Assert.Throws<CheckpointFormatException>(() =>
            MergeExecutor.Run(new MergeSpec { Method = MergeMethods.Linear, Models = [new MergeInput(a), new MergeInput(b)] }, sink));
        return (e, sink);
    }

    [Fact]
    public void Merging_inputs_where_one_lacks_a_tensor_names_the_tensor_and_both_inputs()
    {
        using var dir = new TempDirectory();
        var a = Write(dir, "a", F32("x", [4], Ones(4)), F32("y", [2], Ones(2)));
        var b = Write(dir, "b", F32("x", [4], Ones(4)));

        var (e, sink) = Merge(a, b);

        Assert.Equal(FormatErrorReason.MergeInputsDisagree, e.Reason);
        Assert.Equal("y", e.Tensor);
        Assert.Contains(a, e.Message);
        Assert.Contains(b, e.Message);
        Assert.Empty(sink.Names);
    }

    [Fact]
    public void Merging_inputs_where_only_the_second_has_a_tensor_names_it()
    {
        using var dir = new TempDirectory();
        var a = Write(dir, "a", F32("x", [4], Ones(4)));
        var b = Write(dir, "b", F32("x", [4], Ones(4)), F32("extra", [1], Ones(1)));

        var (e, _) = Merge(a, b);

        Assert.Equal("extra", e.Tensor);
        Assert.Contains(a, e.Message);
        Assert.Contains(b, e.Message);
    }

    [Fact]
    public void Merging_inputs_with_different_shapes_names_the_tensor_and_both_shapes_before_writing_anything()
    {
        // The mismatch is on the last tensor, so a merge that read before validating would already have written "a".
        using var dir = new TempDirectory();
        var a = Write(dir, "a", F32("a", [4], Ones(4)), F32("z", [2, 3], Ones(6)));
        var b = Write(dir, "b", F32("a", [4], Ones(4)), F32("z", [3, 2], Ones(6)));

        var (e, sink) = Merge(a, b);

        Assert.Equal("z", e.Tensor);
        Assert.Equal("[2, 3] as in '" + a + "'", e.Expected);
        Assert.Equal("[3, 2]", e.Found);
        Assert.Contains(b, e.Message);
        Assert.Empty(sink.Names);
    }

    [Fact]
    public void Merging_a_float_tensor_with_an_integer_one_is_refused()
    {
        using var dir = new TempDirectory();
        var a = Write(dir, "a", F32("x", [2], [1f, 2f]));
        var b = Write(dir, "b", ("x", "I32", [2], new byte[8]));

        var (e, _) = Merge(a, b);

        Assert.Equal("x", e.Tensor);
        Assert.Equal("I32", e.Found);
    }

    [Fact]
    public void Float32_and_bfloat16_inputs_merge_together()
    {
        using var dir = new TempDirectory();
        var a = Write(dir, "a", F32("x", [2], [1f, 2f]));
        var bf = new byte[4];
        BitConverter.TryWriteBytes(bf.AsSpan(0, 2), (ushort)0x4040);   // 3.0
        BitConverter.TryWriteBytes(bf.AsSpan(2, 2), (ushort)0x4080);   // 4.0
        var b = Write(dir, "b", ("x", "BF16", [2], bf));

        var sink = Run(new MergeSpec { Method = MergeMethods.Linear, Models = [new MergeInput(a), new MergeInput(b)] });

        Assert.Equal([2f, 3f], sink.Floats("x"));
    }

    [Fact]
    public void Ties_without_a_base_model_is_refused_naming_the_key()
    {
        var e = Assert.Throws<CheckpointFormatException>(() => MergeExecutor.Run(
            new MergeSpec { Method = MergeMethods.Ties, Models = [new MergeInput(Step(300)), new MergeInput(Step(400))] }, new MemoryTensorSink()));
        Assert.Equal(FormatErrorReason.MergeConfigInvalid, e.Reason);
        Assert.Contains("'base_model'", e.Message);
    }

    [Fact]
    public void A_density_outside_zero_to_one_is_refused_naming_the_model_key()
    {
        var e = Assert.Throws<CheckpointFormatException>(() => MergeExecutor.Run(new MergeSpec
        {
            Method = MergeMethods.DareTies, BaseModel = Step(100),
            Models = [new MergeInput(Step(300)), new MergeInput(Step(400), Density: 1.5)],
        }, new MemoryTensorSink()));
        Assert.Contains("'models[1].parameters.density'", e.Message);
        Assert.Equal("1.5", e.Found);
    }

    [Fact]
    public void Slerp_of_three_models_is_refused()
    {
        var e = Assert.Throws<CheckpointFormatException>(() => MergeExecutor.Run(new MergeSpec
        {
            Method = MergeMethods.Slerp, Models = [new MergeInput(Step(300)), new MergeInput(Step(350)), new MergeInput(Step(400))],
        }, new MemoryTensorSink()));
        Assert.Contains("'models'", e.Message);
    }
}
