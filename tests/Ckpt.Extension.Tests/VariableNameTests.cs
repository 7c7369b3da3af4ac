namespace Ckpt.Extension.Tests;

public sealed class VariableNameTests
{
    [Theory]
    [InlineData("./run/step-2000", "step_2000")]
    [InlineData("run/step-2000/", "step_2000")]
    [InlineData("checkpoints/2024-final", "_2024_final")]
    [InlineData("a/class", "ckpt")]
    [InlineData("a/---", "ckpt")]
    public void A_folder_gives_a_csharp_identifier(string path, string expected) =>
        Assert.Equal(expected, VariableName.FromPath(path));

    [Fact]
    public void A_file_gives_its_name_without_extension() =>
        Assert.Equal("variety", VariableName.FromPath(TestPaths.Fixture("torch-save/variety.pt")));

    [Theory]
    [InlineData("m", true)]
    [InlineData("step_2000", true)]
    [InlineData("2000", false)]
    [InlineData("class", false)]
    [InlineData("a b", false)]
    public void Only_plain_identifiers_are_accepted_as_names(string name, bool valid) =>
        Assert.Equal(valid, VariableName.IsValid(name));
}
