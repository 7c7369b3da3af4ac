using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Directives;

namespace Ckpt.Extension.Tests;

/// <summary>
/// Why DirectivePositionals and VerbDirective read the submitted line: the pinned .NET Interactive binder keeps
/// none of the values of a parameter given twice, even one declared with MaxOccurrences, implicit name or not. When
/// these fail after an upgrade, the binder fills string[] parameters and the workaround can go.
/// </summary>
public sealed class DirectiveBindingTests : IDisposable
{
    public sealed class RepeatedValues : KernelDirectiveCommand
    {
        public string[]? Items { get; set; }
        public string[]? Model { get; set; }
        public string? Single { get; set; }
    }

    public sealed class Line : KernelDirectiveCommand
    {
        public string? Items { get; set; }
    }

    readonly CompositeKernel _kernel = new() { new CSharpKernel() };
    RepeatedValues? _bound;

    public DirectiveBindingTests()
    {
        _kernel.DefaultKernelName = "csharp";
        _kernel.AddDirective<RepeatedValues>(new KernelActionDirective("#!repeated")
        {
            Parameters =
            {
                new KernelDirectiveParameter("--items") { AllowImplicitName = true, MaxOccurrences = 2 },
                new KernelDirectiveParameter("--model") { MaxOccurrences = 3 },
                new KernelDirectiveParameter("--single") { MaxOccurrences = 3 },
            },
        }, (command, _) => { _bound = command; return Task.CompletedTask; });
    }

    [Theory]
    [InlineData("#!repeated a b")]
    [InlineData("#!repeated --items a --items b")]
    [InlineData("#!repeated --model a --model b")]
    public async Task A_parameter_given_twice_binds_none_of_its_values(string line)
    {
        var result = await _kernel.SendAsync(new SubmitCode(line));
        KernelHarness.AssertSucceeded(result);
        Assert.NotNull(_bound);
        Assert.Null(_bound.Items);
        Assert.Null(_bound.Model);
    }

    [Fact]
    public async Task One_value_of_an_array_parameter_is_refused_as_a_string()
    {
        var result = await _kernel.SendAsync(new SubmitCode("#!repeated --model a"));
        Assert.Null(_bound);
        Assert.Contains("DNI106", KernelHarness.Failure(result)?.Message);
    }

    /// <summary>What the magics rely on instead: a repeatable parameter declared as a string binds one value and
    /// fails on none, so every count reaches the handler.</summary>
    [Theory]
    [InlineData("#!repeated --single a", "a")]
    [InlineData("#!repeated --single a --single b", null)]
    [InlineData("#!repeated --single a --single b --single c", null)]
    public async Task A_string_parameter_binds_one_value_and_none_of_several_without_failing(string line, string? expected)
    {
        var result = await _kernel.SendAsync(new SubmitCode(line));
        KernelHarness.AssertSucceeded(result);
        Assert.NotNull(_bound);
        Assert.Equal(expected, _bound.Single);
    }

    /// <summary>Why every ckpt magic is registered through SingleValueOptions: a parameter left at MaxOccurrences 1 and
    /// given twice fails the cell in the parser, with the binder's own code, before any handler could say which
    /// magic and option it was.</summary>
    [Fact]
    public async Task A_parameter_declared_once_and_given_twice_fails_with_DNI105_before_the_handler()
    {
        var handled = false;
        _kernel.AddDirective<Line>(new KernelActionDirective("#!once")
        {
            Parameters = { new KernelDirectiveParameter("--items") },
        }, (_, _) => { handled = true; return Task.CompletedTask; });
        var result = await _kernel.SendAsync(new SubmitCode("#!once --items a --items b"));
        Assert.Contains("DNI105", KernelHarness.Failure(result)?.Message);
        Assert.False(handled);
    }

    /// <summary>The handlers find their own line through the command's internal DirectiveNode, read by reflection; this
    /// fails if an upgrade renames it (they would fall back to the cell's first line for that magic).</summary>
    [Fact]
    public async Task Each_command_of_a_cell_exposes_its_own_directive_line()
    {
        var lines = new List<string?>();
        _kernel.AddDirective<Line>(new KernelActionDirective("#!line")
        {
            Parameters = { new KernelDirectiveParameter("--items") { AllowImplicitName = true, MaxOccurrences = 9 } },
        }, (command, _) => { lines.Add(Ckpt.Extension.Directives.DirectivePositionals.NodeText(command)); return Task.CompletedTask; });
        KernelHarness.AssertSucceeded(await _kernel.SendAsync(new SubmitCode("#!line a\n#!line \"b c\" d\n")));
        Assert.Equal(["#!line a", "#!line \"b c\" d"], lines);
    }

    public void Dispose() => _kernel.Dispose();
}
