using Ckpt.Tensors;

namespace Ckpt.Tests.Tensors;

/// <summary>The one dtype parser reads every spelling any of the five it replaced read.</summary>
public class DTypeNamesTests
{
    [Theory]
    [InlineData("F32", DType.F32)]
    [InlineData("f32", DType.F32)]
    [InlineData("fp32", DType.F32)]
    [InlineData("float32", DType.F32)]
    [InlineData("BF16", DType.BF16)]
    [InlineData("bfloat16", DType.BF16)]
    [InlineData("F16", DType.F16)]
    [InlineData("fp16", DType.F16)]
    [InlineData("float16", DType.F16)]
    [InlineData("half", DType.F16)]
    [InlineData("F64", DType.F64)]
    [InlineData("fp64", DType.F64)]
    [InlineData("float64", DType.F64)]
    [InlineData("double", DType.F64)]
    [InlineData(" i64 ", DType.I64)]
    public void Every_spelling_a_parser_accepted_before_is_read(string text, DType expected)
    {
        Assert.True(DTypeNames.TryParse(text, out var dtype));
        Assert.Equal(expected, dtype);
    }

    [Fact]
    public void An_unknown_dtype_is_one_sentence_naming_it()
    {
        Assert.Equal("--dtype must be F32, BF16, F16 or F64, not 'f8'", Assert.Throws<FormatException>(() => DTypeNames.ParseOptional("f8")).Message);
        Assert.Equal("--dtype must be F32, BF16, F16 or F64, not 'i64'", Assert.Throws<FormatException>(() => DTypeNames.Floating("i64")).Message);
        Assert.Equal("--dtype must be F32, BF16, F16 or F64, not 'i64'", Assert.Throws<ArgumentException>(() => DTypeNames.Compute("i64")).Message);
    }
}
