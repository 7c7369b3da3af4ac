using System.Reflection;
using Ckpt.Verbs;

namespace Ckpt.Kernel.Tests.Cli;

/// <summary>
/// A verb's options are declared once, on the request property each fills (<see cref="OptionAttribute"/>), and its
/// binding is generated from them (<see cref="RequestOptions{TRequest}"/>). These tests fail when a verb lists options
/// by hand beside a request that declares them, when an option both surfaces offer is bound by no request property,
/// or when a declared option does not reach its property.
/// </summary>
public sealed class VerbRequestOptionsTests
{
    /// <summary>Options a verb binds in a step of its own after the generated one (a value that goes beside the
    /// request rather than into it); every other option both surfaces offer is a request property.</summary>
    static readonly Dictionary<string, string[]> BoundBesideTheRequest = new()
    {
        ["merge"] = ["--out", "--overwrite", "--max-shard-size"],
    };

    /// <summary>Values a later check accepts, for the options that are not free text or a number.</summary>
    static readonly Dictionary<string, string> Samples = new()
    {
        ["--dtype"] = "F16",
    };

    /// <summary>Each Kernel verb class: its `Definition` and the type its `Bind` returns.</summary>
    public static TheoryData<string> BoundVerbs() => new(VerbClasses().Select(c => c.Verb.Name));

    static IEnumerable<(Verb Verb, Type Bound)> VerbClasses() =>
        typeof(Verb).Assembly.GetExportedTypes()
            .Where(t => t is { IsAbstract: true, IsSealed: true } && t.GetField("Definition", BindingFlags.Public | BindingFlags.Static)?.FieldType == typeof(Verb))
            .Select(t => (Verb: (Verb)t.GetField("Definition")!.GetValue(null)!, Method: t.GetMethod("Bind", BindingFlags.Public | BindingFlags.Static)))
            .Where(c => c.Method is not null)
            .Select(c => (c.Verb, c.Method!.ReturnType));

    static IReadOnlyList<VerbOption> Declared(Type request) =>
        (IReadOnlyList<VerbOption>)typeof(RequestOptions<>).MakeGenericType(request).GetProperty("Options")!.GetValue(null)!;

    static bool DeclaresOptions(Type type) =>
        type.GetProperties().Any(p => p.IsDefined(typeof(OptionAttribute)))
        || type.GetConstructors().SelectMany(c => c.GetParameters()).Any(p => p.IsDefined(typeof(OptionAttribute)));

    [Theory]
    [MemberData(nameof(BoundVerbs))]
    public void A_verb_whose_request_declares_options_lists_them_first_and_binds_every_other_option_it_shares_beside_it(string name)
    {
        var (verb, bound) = VerbClasses().Single(c => c.Verb.Name == name);
        if (verb.Request is null)
        {
            Assert.False(DeclaresOptions(bound), $"{name}: {bound.Name} declares options but the verb lists its own (make it with Verb.Of<{bound.Name}>)");
            return;
        }
        var declared = Declared(verb.Request);
        Assert.Equal(declared, verb.Options.Take(declared.Count));
        var beside = BoundBesideTheRequest.GetValueOrDefault(name, []);
        var unbound = verb.Options.Skip(declared.Count).Where(o => o.Surface == OptionSurface.Both && !beside.Contains(o.Name)).Select(o => o.Name);
        Assert.True(!unbound.Any(), $"{name}: {string.Join(", ", unbound)} is offered on both surfaces but no property of {verb.Request.Name} declares it");
    }

    public static TheoryData<string, string> DeclaredOptions()
    {
        var data = new TheoryData<string, string>();
        foreach (var verb in VerbCatalog.All.Where(v => v.Request is not null))
            foreach (var option in Declared(verb.Request!))
                data.Add(verb.Name, option.Name);
        return data;
    }

    /// <summary>An option given a value other than its default changes the request bound from it: the generated
    /// binding reads every declared option into its own property.</summary>
    [Theory]
    [MemberData(nameof(DeclaredOptions))]
    public void A_declared_option_given_a_value_reaches_the_request(string verbName, string optionName)
    {
        var verb = VerbCatalog.All.Single(v => v.Name == verbName);
        var option = verb[optionName];
        var required = verb.Options.Where(o => o.Required).ToDictionary(o => o.Name, o => Values(o, "required"));
        var given = new Dictionary<string, IReadOnlyList<string>>(required) { [optionName] = Values(option, "given") };

        var bind = typeof(Verb).GetMethod(nameof(Verb.Bind))!.MakeGenericMethod(verb.Request!);
        string Json(Dictionary<string, IReadOnlyList<string>> values) =>
            VerbJson.Serialize(bind.Invoke(verb, [values]), indented: false);

        Assert.NotEqual(Json(required), Json(given));
    }

    static IReadOnlyList<string> Values(VerbOption o, string text)
    {
        var one = o.Kind switch
        {
            // A value the binder accepts, and not the default: the first other choice as the required value, the last as the given one.
            OptionKind.Text when o.Choices is { } choices => text == "required" ? choices.First(c => c != o.Default) : choices.Last(c => c != o.Default),
            OptionKind.Flag => "",
            OptionKind.Integer => o.Default is { } d ? (long.Parse(d, System.Globalization.CultureInfo.InvariantCulture) + 3).ToString(System.Globalization.CultureInfo.InvariantCulture) : "3",
            OptionKind.Number => o.Default is { } d ? (double.Parse(d, System.Globalization.CultureInfo.InvariantCulture) + 0.375).ToString(System.Globalization.CultureInfo.InvariantCulture) : "0.375",
            _ => Samples.GetValueOrDefault(o.Name, $"{text}{o.Name}"),
        };
        return o.Exactly is int n ? Enumerable.Range(0, n).Select(i => $"{one}{i}").ToArray() : [one];
    }
}
