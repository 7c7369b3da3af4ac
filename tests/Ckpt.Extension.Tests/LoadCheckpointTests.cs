using System.Net;
using System.Text.Json;
using Ckpt.Errors;
using Microsoft.DotNet.Interactive.Connection;
using Microsoft.DotNet.Interactive.Events;

namespace Ckpt.Extension.Tests;

public sealed class LoadCheckpointTests : IDisposable
{
    readonly KernelHarness _harness = new();
    readonly string _temp = Directory.CreateTempSubdirectory("ckpt-ext-").FullName;

    static string Sharded => FixtureFacts.Llama;

    [Fact]
    public async Task Loading_a_sharded_llama_shows_a_summary_line_with_its_real_counts()
    {
        var result = await _harness.SubmitAsync($"#!ckpt-load \"{Sharded}\" --name m");

        KernelHarness.AssertSucceeded(result);
        var html = WebUtility.HtmlDecode(KernelHarness.Html(result));
        var parameters = FixtureFacts.LlamaParameterCount();
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(Sharded, "model.safetensors.index.json")));
        Assert.Equal(index.RootElement.GetProperty("metadata").GetProperty("total_parameters").GetInt64(), parameters);
        // 1 embedding + 9 per layer x 4 + final norm + lm_head; 6 shards + the index; all F32.
        Assert.Contains($"safetensors (transformers), 39 tensors, {parameters:N0} parameters (F32 {parameters:N0})", html);
        Assert.Contains("7 files", html);
        Assert.Contains("<code>m</code>", html);
    }

    [Fact]
    public async Task Loading_shows_metadata_then_tensor_and_file_tables_in_details()
    {
        var result = await _harness.SubmitAsync($"#!ckpt-load \"{Sharded}\" --name m");

        var html = KernelHarness.Html(result);
        int summary = html.IndexOf("ckpt-summary", StringComparison.Ordinal);
        int metadata = html.IndexOf("<table class=\"ckpt-metadata\">", StringComparison.Ordinal);
        int tensors = html.IndexOf("<details class=\"ckpt-tensors\">", StringComparison.Ordinal);
        int files = html.IndexOf("<details class=\"ckpt-files\">", StringComparison.Ordinal);
        Assert.True(summary >= 0 && summary < metadata && metadata < tensors && tensors < files, html);
        Assert.Contains("<td>config.model_type</td><td>llama</td>", html);
        Assert.Contains("<tr><td>model.layers.3.mlp.down_proj.weight</td><td>F32</td><td>[64, 176]</td><td>45,056</td><td>1</td></tr>", html);
        var shard = new FileInfo(Path.Combine(Sharded, "model-00003-of-00006.safetensors"));
        Assert.Contains($"<tr><td>model-00003-of-00006.safetensors</td><td>{shard.Length:N0}</td></tr>", html);
    }

    [Fact]
    public async Task Loading_binds_the_checkpoint_to_the_named_csharp_variable()
    {
        KernelHarness.AssertSucceeded(await _harness.SubmitAsync($"#!ckpt-load \"{Sharded}\" --name m"));

        var count = await _harness.SubmitAsync("m.Manifest.Tensors.Count");
        KernelHarness.AssertSucceeded(count);
        Assert.Equal(39, KernelHarness.ReturnValue(count));

        var norm = await _harness.SubmitAsync("m.Read(\"model.norm.weight\").ToFloats().Length");
        KernelHarness.AssertSucceeded(norm);
        Assert.Equal(64, KernelHarness.ReturnValue(norm));
    }

    [Fact]
    public async Task Without_a_name_the_variable_is_named_after_the_folder()
    {
        KernelHarness.AssertSucceeded(await _harness.SubmitAsync($"#!ckpt-load \"{Sharded}\""));

        var type = await _harness.SubmitAsync("hf_llama_tiny_sharded.GetType().FullName");
        KernelHarness.AssertSucceeded(type);
        Assert.Equal("Ckpt.Checkpoint", KernelHarness.ReturnValue(type));
    }

    [Fact]
    public async Task Displaying_the_bound_variable_renders_the_checkpoint_summary()
    {
        KernelHarness.AssertSucceeded(await _harness.SubmitAsync($"#!ckpt-load \"{Sharded}\" --name m"));

        var shown = await _harness.SubmitAsync("m");
        var manifest = await _harness.SubmitAsync("m.Manifest");

        Assert.Contains("39 tensors, 250,432 parameters", KernelHarness.Html(shown));
        Assert.Contains("39 tensors, 250,432 parameters", KernelHarness.Html(manifest));
    }

    [Fact]
    public async Task The_command_can_be_sent_without_the_magic_syntax()
    {
        var result = await _harness.Kernel.SendAsync(new LoadCheckpoint { Path = Sharded, Name = "sent" });

        KernelHarness.AssertSucceeded(result);
        Assert.Contains("39 tensors", KernelHarness.Html(result));
        Assert.Equal(39, KernelHarness.ReturnValue(await _harness.SubmitAsync("sent.Manifest.Tensors.Count")));
    }

    [Fact]
    public void The_command_round_trips_through_the_kernel_command_envelope()
    {
        var json = KernelCommandEnvelope.Serialize(KernelCommandEnvelope.Create(new LoadCheckpoint { Path = "run/step-2000", Name = "s" }));
        var back = Assert.IsType<LoadCheckpoint>(KernelCommandEnvelope.Deserialize(json).Command);
        Assert.Equal(("run/step-2000", "s"), (back.Path, back.Name));
    }

    [Fact]
    public async Task An_empty_file_fails_the_cell_with_the_exceptions_one_sentence()
    {
        var path = Path.Combine(_temp, "empty.safetensors");
        File.WriteAllBytes(path, []);
        var expected = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path));
        Assert.Equal(FormatErrorReason.EmptyFile, expected.Reason);

        var result = await _harness.SubmitAsync($"#!ckpt-load \"{path}\"");

        var failed = KernelHarness.Failure(result);
        Assert.NotNull(failed);
        Assert.Equal(expected.Message, failed.Message);
        Assert.DoesNotContain(" at ", failed.Message);
        Assert.DoesNotContain("\n", failed.Message);
        Assert.Empty(result.Events.OfType<DisplayEvent>());
    }

    [Fact]
    public async Task A_truncated_safetensors_file_fails_the_cell_naming_the_file()
    {
        var whole = Path.Combine(_temp, "whole.safetensors");
        TinySafetensors.Write(whole, [("w", [4, 4])]);
        var bytes = File.ReadAllBytes(whole);
        var path = Path.Combine(_temp, "truncated.safetensors");
        File.WriteAllBytes(path, bytes[..^10]);

        var result = await _harness.SubmitAsync($"#!ckpt-load \"{path}\" --name t");

        var failed = KernelHarness.Failure(result);
        Assert.NotNull(failed);
        Assert.Equal(Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path)).Message, failed.Message);
        Assert.Contains("truncated.safetensors", failed.Message);
        Assert.EndsWith("[Truncated].", failed.Message);
    }

    [Fact]
    public async Task A_missing_path_fails_the_cell_with_one_sentence()
    {
        var result = await _harness.SubmitAsync("#!ckpt-load does/not/exist");

        var failed = KernelHarness.Failure(result);
        Assert.NotNull(failed);
        Assert.Equal("does/not/exist: no such file or folder [MissingFile].", failed.Message);
    }

    [Fact]
    public async Task Tensor_names_and_metadata_are_html_escaped()
    {
        var path = Path.Combine(_temp, "hostile.safetensors");
        TinySafetensors.Write(path, [("<script>alert(1)</script>", [2])], new Dictionary<string, string> { ["<b>key</b>"] = "\"&<i>value" });

        var result = await _harness.SubmitAsync($"#!ckpt-load \"{path}\" --name h");

        KernelHarness.AssertSucceeded(result);
        var html = KernelHarness.Html(result);
        Assert.DoesNotContain("<script>", html);
        Assert.DoesNotContain("<b>key", html);
        Assert.DoesNotContain("<i>value", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.Contains("&quot;&amp;&lt;i&gt;value", html);
    }

    [Fact]
    public async Task The_tensor_table_stops_at_200_rows_and_says_how_many_more()
    {
        var path = Path.Combine(_temp, "many.safetensors");
        TinySafetensors.Write(path, Enumerable.Range(0, 205).Select(i => ($"t{i:D3}", new long[] { 1 })));

        var result = await _harness.SubmitAsync($"#!ckpt-load \"{path}\" --name many");

        var html = KernelHarness.Html(result);
        Assert.Contains("<td>t199</td>", html);
        Assert.DoesNotContain("<td>t200</td>", html);
        Assert.Contains("5 more tensors", html);
        Assert.Contains("205 tensors", html);
    }

    [Fact]
    public async Task A_name_that_is_not_a_csharp_identifier_is_refused()
    {
        var result = await _harness.SubmitAsync($"#!ckpt-load \"{Sharded}\" --name class");

        Assert.Equal("'class' is not a valid C# variable name for --name.", KernelHarness.Failure(result)?.Message);
    }

    /// <summary>The load magic binds before it displays, so its one display names the variable in the summary (not
    /// in a paragraph of its own after it, as a magic whose result VerbMagic binds to `--name` says it).</summary>
    [Theory]
    [InlineData("--name m", "m")]
    [InlineData("", "hf_llama_tiny_sharded")]
    public async Task Loading_shows_one_display_whose_summary_names_the_bound_variable(string name, string bound)
    {
        var result = await _harness.SubmitAsync($"#!ckpt-load \"{Sharded}\" {name}");

        KernelHarness.AssertSucceeded(result);
        var html = Assert.Single(result.Events.OfType<DisplayEvent>()).FormattedValues.Single(v => v.MimeType == "text/html").Value;
        Assert.Contains($"<p class=\"ckpt-variable\">Bound to the C# variable <code>{bound}</code>.</p>", html);
        Assert.True(html.IndexOf("ckpt-variable", StringComparison.Ordinal) < html.IndexOf("<details class=\"ckpt-tensors\">", StringComparison.Ordinal), html);
    }

    /// <summary>As for every magic that binds `--name` (VerbMagic), the name is checked before the checkpoints are counted.</summary>
    [Fact]
    public async Task An_invalid_name_is_refused_before_the_missing_checkpoint()
    {
        var result = await _harness.SubmitAsync("#!ckpt-load --name class");

        Assert.Equal("'class' is not a valid C# variable name for --name.", KernelHarness.Failure(result)?.Message);
    }

    public void Dispose()
    {
        _harness.Dispose();
        try { Directory.Delete(_temp, recursive: true); } catch (IOException) { }
    }
}
