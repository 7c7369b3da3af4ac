using Xunit.Abstractions;
using Xunit.Sdk;

namespace Ckpt.Tests;

/// <summary>
/// The rule of <see cref="Requirement"/>: a test whose requirement is missing is skipped, with the reason, outside CI and
/// fails, with the same reason, under CI. And no test of this assembly skips any other way.
/// </summary>
public class RequiredFactsTests
{
    const string Lack = "python3 lacks torch (what this test's probe says)";

    sealed class LackingFactAttribute() : RequiredFactAttribute(Lack);

    sealed class LackingTheoryAttribute() : RequiredTheoryAttribute(Lack);

    /// <summary>Not public, so xunit does not discover these as tests: they only carry the attributes.</summary>
#pragma warning disable xUnit1000
    sealed class Holder
#pragma warning restore xUnit1000
    {
        [LackingFact]
        public static void NeedsTorch() { }

        [LackingTheory]
        [InlineData(1)]
        public static void NeedsTorchToo(int value) => _ = value;
    }

    sealed class Sink : LongLivedMarshalByRefObject, IMessageSink
    {
        public bool OnMessage(IMessageSinkMessage message) => true;
    }

    sealed class DefaultOptions : ITestFrameworkDiscoveryOptions
    {
        public TValue GetValue<TValue>(string name) => default!;
        public void SetValue<TValue>(string name, TValue value) { }
    }

    static ITestMethod Method(string name)
    {
        var collection = new TestCollection(new TestAssembly(new ReflectionAssemblyInfo(typeof(Holder).Assembly)), null, "requirements");
        return new TestMethod(new TestClass(collection, new ReflectionTypeInfo(typeof(Holder))), new ReflectionMethodInfo(typeof(Holder).GetMethod(name)!));
    }

    static IAttributeInfo Attribute<T>(string method) =>
        new ReflectionAttributeInfo(typeof(Holder).GetMethod(method)!.CustomAttributes.Single(a => a.AttributeType == typeof(T)));

    [Fact]
    public void A_missing_requirement_is_a_skip_with_its_reason_outside_ci_and_no_skip_under_ci()
    {
        var outside = new FactAttribute();
        Assert.Equal(Lack, Requirement.Apply(outside, Lack, underCi: false));
        Assert.Equal(Lack, outside.Skip);

        var under = new FactAttribute();
        Assert.Equal(Lack, Requirement.Apply(under, Lack, underCi: true));
        Assert.Null(under.Skip);

        var present = new FactAttribute();
        Assert.Null(Requirement.Apply(present, null, underCi: false));
        Assert.Null(present.Skip);
    }

    [Fact]
    public void Under_ci_a_fact_with_a_missing_requirement_is_discovered_as_a_failing_case_naming_what_is_missing()
    {
        var cases = new RequiredFactDiscoverer(new Sink()).Discover(new DefaultOptions(), Method(nameof(Holder.NeedsTorch)), Attribute<LackingFactAttribute>(nameof(Holder.NeedsTorch)), underCi: true).ToList();
        var failing = Assert.IsType<ExecutionErrorTestCase>(Assert.Single(cases));
        Assert.Equal($"CI is set, so this test may not be skipped: {Lack}", failing.ErrorMessage);
    }

    [Fact]
    public void Under_ci_a_theory_with_a_missing_requirement_is_discovered_as_a_failing_case_naming_what_is_missing()
    {
        var cases = new RequiredTheoryDiscoverer(new Sink()).Discover(new DefaultOptions(), Method(nameof(Holder.NeedsTorchToo)), Attribute<LackingTheoryAttribute>(nameof(Holder.NeedsTorchToo)), underCi: true).ToList();
        var failing = Assert.IsType<ExecutionErrorTestCase>(Assert.Single(cases));
        Assert.Equal($"CI is set, so this test may not be skipped: {Lack}", failing.ErrorMessage);
    }

    [Fact]
    public void Outside_ci_the_discoverer_leaves_the_case_to_xunit_which_skips_it_with_the_attributes_reason()
    {
        var attribute = Attribute<LackingFactAttribute>(nameof(Holder.NeedsTorch));
        var cases = new RequiredFactDiscoverer(new Sink()).Discover(new DefaultOptions(), Method(nameof(Holder.NeedsTorch)), attribute, underCi: false).ToList();
        var regular = Assert.Single(cases);
        Assert.IsNotType<ExecutionErrorTestCase>(regular);
        // The attribute set its own Skip when it was built, from this process's CI variable.
        Assert.Equal(Requirement.UnderCi ? null : Lack, regular.SkipReason);
    }

    /// <summary>Opt-in measurements, skipped because nobody asked for them rather than because something is missing.</summary>
    static readonly Type[] OptIn = [typeof(ObjectStores.FiguresFactAttribute)];

    [Fact]
    public void Every_skipping_attribute_of_this_assembly_goes_through_the_requirement_rule()
    {
        var attributes = typeof(RequiredFactsTests).Assembly.GetTypes()
            .Where(t => typeof(FactAttribute).IsAssignableFrom(t) && !t.IsAbstract)
            .Where(t => !typeof(RequiredFactAttribute).IsAssignableFrom(t) && !typeof(RequiredTheoryAttribute).IsAssignableFrom(t))
            .Except(OptIn)
            .Select(t => t.FullName);
        Assert.Empty(attributes);

        // A plain [Fact(Skip = ...)] or [Theory(Skip = ...)] would skip under CI too.
        var skipped = typeof(RequiredFactsTests).Assembly.GetTypes().SelectMany(t => t.GetMethods())
            .Where(m => m.CustomAttributes.Any(a => typeof(FactAttribute).IsAssignableFrom(a.AttributeType) && a.NamedArguments.Any(n => n.MemberName == nameof(FactAttribute.Skip))))
            .Select(m => $"{m.DeclaringType!.FullName}.{m.Name}");
        Assert.Empty(skipped);
    }
}
