using Ckpt.Verbs;

namespace Ckpt.Kernel.Tests.Cli;

/// <summary>
/// What the generated binder (<see cref="RequestOptions{TRequest}"/>) makes of a property's type beyond numbers and
/// text: an enum is one of its members' names, a list with a separator is one value split on it, and a blank path is
/// not a value.
/// </summary>
public sealed class OptionKindsTests
{
    public enum Shade
    {
        Light,
        [OptionSpelling("pitch_black")]
        Dark,
    }

    public sealed record Sample
    {
        [Option("--kind", "A shade nobody chose for you.", Required = true)]
        public Shade Kind { get; init; }

        [Option("--shade", "A shade.")]
        public Shade Shade { get; init; } = Shade.Light;

        [Option("--tint", "A shade, or none.")]
        public Shade? Tint { get; init; }

        [Option("--names", "Comma-separated names.", Separator = ',')]
        public IReadOnlyList<string> Names { get; init; } = ["a", "b"];

        [Option("--each", "One name per occurrence.")]
        public IReadOnlyList<string> Each { get; init; } = [];

        [Option("--file", "A file.", Path = true)]
        public string? File { get; init; }

        [Option("--out", "An output folder.", Path = true, Default = "out")]
        public required string Out { get; init; }
    }

    static readonly Verb SampleVerb = Verb.Of<Sample>("sample", null, "A verb to bind.", []);

    static Sample Bind(params string[] more)
    {
        var given = new Dictionary<string, IReadOnlyList<string>> { ["--kind"] = ["light"] };
        for (int i = 0; i < more.Length; i += 2) given[more[i]] = [more[i + 1]];
        return SampleVerb.Bind<Sample>(given);
    }

    [Theory]
    [InlineData("dark")]
    [InlineData(" DARK ")]
    [InlineData("Dark")]
    [InlineData("pitch_black")]
    [InlineData("Pitch_Black ")]
    public void An_enum_option_reads_a_members_name_or_extra_spelling_trimmed_in_any_case(string text)
    {
        Assert.Equal(Shade.Dark, Bind("--shade", text).Shade);
        Assert.Equal(Shade.Dark, Bind("--tint", text).Tint);
    }

    [Fact]
    public void An_enum_options_choices_and_default_are_the_lower_case_names_and_a_required_one_has_no_default()
    {
        Assert.Equal(["light", "dark"], SampleVerb["--shade"].Choices);
        Assert.Equal("light", SampleVerb["--shade"].Default);
        Assert.Equal(OptionKind.Text, SampleVerb["--shade"].Kind);
        Assert.Null(SampleVerb["--kind"].Default);
        Assert.Null(SampleVerb["--tint"].Default);
        Assert.Null(Bind().Tint);
        Assert.Equal(Shade.Light, Bind().Shade);
        Assert.Null(SampleVerb["--names"].Choices);
        Assert.Equal("sample needs --kind", Assert.Throws<ArgumentException>(() => SampleVerb.Bind<Sample>(new Dictionary<string, IReadOnlyList<string>>())).Message);
    }

    [Theory]
    [InlineData("--shade", "grey")]
    [InlineData("--kind", "medium")]
    [InlineData("--tint", "pitch black")]
    public void A_value_that_is_no_member_is_refused_in_one_sentence_naming_the_option_and_the_names(string option, string text) =>
        Assert.Equal($"{option} must be light or dark, not '{text}'", Assert.Throws<ArgumentException>(() => Bind(option, text)).Message);

    [Fact]
    public void A_list_with_a_separator_is_one_value_split_trimmed_and_without_empties()
    {
        Assert.Equal(["x", "y", "z"], Bind("--names", " x, y,,z ").Names);
        Assert.Equal(["a", "b"], Bind().Names);
        Assert.Equal("a,b", SampleVerb["--names"].Default);
        Assert.False(SampleVerb["--names"].Many);
        var twice = new Dictionary<string, IReadOnlyList<string>> { ["--kind"] = ["dark"], ["--names"] = ["x", "y"] };
        Assert.Equal("--names was given 2 times (one value expected)", Assert.Throws<ArgumentException>(() => SampleVerb.Bind<Sample>(twice)).Message);
    }

    [Fact]
    public void A_list_without_a_separator_keeps_one_value_per_occurrence()
    {
        var given = new Dictionary<string, IReadOnlyList<string>> { ["--kind"] = ["dark"], ["--each"] = ["x,y", " ", "z"] };
        Assert.Equal(["x,y", "z"], SampleVerb.Bind<Sample>(given).Each);
        Assert.True(SampleVerb["--each"].Many);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void A_blank_path_is_not_given_so_the_option_keeps_its_default(string blank)
    {
        Assert.Null(Bind("--file", blank).File);
        Assert.Equal("out", Bind("--out", blank).Out);
        Assert.Equal("f.txt", Bind("--file", "f.txt").File);
        Assert.Equal("out", Bind().Out);
    }

    [Theory]
    [InlineData("safetensors", Conversion.TargetFormat.Safetensors)]
    [InlineData(" HF ", Conversion.TargetFormat.Safetensors)]
    [InlineData("dcp", Conversion.TargetFormat.Dcp)]
    [InlineData("pt", Conversion.TargetFormat.Torch)]
    [InlineData("Torch", Conversion.TargetFormat.Torch)]
    public void Convert_reads_its_target_format_as_an_enum_with_the_hf_and_pt_spellings(string text, Conversion.TargetFormat expected)
    {
        var given = new Dictionary<string, IReadOnlyList<string>> { ["--path"] = ["in"], ["--out"] = ["out"], ["--to"] = [text] };
        Assert.Equal(expected, Conversion.ConvertVerb.Bind(given).Options.To);
        Assert.Equal(["safetensors", "dcp", "torch"], Conversion.ConvertVerb.Definition["--to"].Choices);
        Assert.Equal("safetensors", Conversion.ConvertVerb.Definition["--to"].Default);
    }

    [Fact]
    public void An_unknown_target_format_is_refused_in_one_sentence_listing_the_formats()
    {
        var given = new Dictionary<string, IReadOnlyList<string>> { ["--path"] = ["in"], ["--out"] = ["out"], ["--to"] = ["onnx"] };
        var e = Assert.Throws<ArgumentException>(() => Conversion.ConvertVerb.Bind(given));
        Assert.Equal("--to must be safetensors, dcp or torch, not 'onnx'", e.Message);
    }

    [Theory]
    [InlineData("dtensor", Resharding.LayoutKind.Dtensor)]
    [InlineData("FSDP", Resharding.LayoutKind.Flat)]
    [InlineData("flat", Resharding.LayoutKind.Flat)]
    [InlineData(" megatron", Resharding.LayoutKind.Tp)]
    [InlineData("tp", Resharding.LayoutKind.Tp)]
    public void Reshard_reads_its_layout_kind_as_an_enum_with_the_fsdp_and_megatron_spellings(string text, Resharding.LayoutKind expected)
    {
        var given = new Dictionary<string, IReadOnlyList<string>> { ["--path"] = ["in"], ["--world-size"] = ["2"], ["--layout"] = [text] };
        Assert.Equal(expected, Resharding.ReshardVerb.Bind(given).Layout.Kind);
        Assert.Equal(["dtensor", "flat", "tp"], Resharding.ReshardVerb.Definition["--layout"].Choices);
        Assert.Equal("dtensor", Resharding.ReshardVerb.Definition["--layout"].Default);
    }

    [Fact]
    public void An_unknown_layout_kind_is_refused_in_one_sentence_listing_the_kinds()
    {
        var given = new Dictionary<string, IReadOnlyList<string>> { ["--path"] = ["in"], ["--world-size"] = ["2"], ["--layout"] = ["pipeline"] };
        var e = Assert.Throws<ArgumentException>(() => Resharding.ReshardVerb.Bind(given));
        Assert.Equal("--layout must be dtensor, flat or tp, not 'pipeline'", e.Message);
    }
}
