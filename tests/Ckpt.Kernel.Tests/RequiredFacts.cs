using Xunit.Abstractions;
using Xunit.Sdk;

namespace Ckpt.Tests;

/// <summary>
/// Facts and theories that need something a machine may lack: python3 with torch or jinja2, chromium, a reader
/// that lands on another branch. A probe in the derived attribute's constructor names what is missing. Outside CI
/// the test is skipped with that reason. Under CI (the CI variable set, as .ci/run does) scripts/test.sh has
/// installed everything, so a missing requirement means a broken probe or machine: the test fails with the reason
/// instead of passing quietly as a skip.
/// </summary>
static class Requirement
{
    public static bool UnderCi => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    /// <summary>Skips the test outside CI; under CI leaves it to the discoverer, which fails it. Returns what is missing.</summary>
    public static string? Apply(FactAttribute attribute, string? missing) => Apply(attribute, missing, UnderCi);

    internal static string? Apply(FactAttribute attribute, string? missing, bool underCi)
    {
        attribute.Skip = underCi ? null : missing;
        return missing;
    }

    public static string FailureUnderCi(string missing) => $"CI is set, so this test may not be skipped: {missing}";

    /// <summary>The reason to fail under CI, read from the attribute instance the discoverer was given.</summary>
    public static string? Missing(IAttributeInfo attribute) => Missing(attribute, UnderCi);

    internal static string? Missing(IAttributeInfo attribute, bool underCi) =>
        underCi && attribute is IReflectionAttributeInfo { Attribute: IRequirement { Missing: { } missing } } ? missing : null;
}

interface IRequirement
{
    /// <summary>What the machine lacks for this test, or null when it has everything.</summary>
    string? Missing { get; }
}

[XunitTestCaseDiscoverer("Ckpt.Tests.RequiredFactDiscoverer", "Ckpt.Kernel.Tests")]
public abstract class RequiredFactAttribute : FactAttribute, IRequirement
{
    protected RequiredFactAttribute(string? missing) => Missing = Requirement.Apply(this, missing);

    public string? Missing { get; }
}

[XunitTestCaseDiscoverer("Ckpt.Tests.RequiredTheoryDiscoverer", "Ckpt.Kernel.Tests")]
public abstract class RequiredTheoryAttribute : TheoryAttribute, IRequirement
{
    protected RequiredTheoryAttribute(string? missing) => Missing = Requirement.Apply(this, missing);

    public string? Missing { get; }
}

public sealed class RequiredFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute) =>
        Discover(discoveryOptions, testMethod, factAttribute, Requirement.UnderCi);

    internal IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute, bool underCi) =>
        Requirement.Missing(factAttribute, underCi) is { } missing
            ? [new ExecutionErrorTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, Requirement.FailureUnderCi(missing))]
            : base.Discover(discoveryOptions, testMethod, factAttribute);
}

public sealed class RequiredTheoryDiscoverer(IMessageSink diagnosticMessageSink) : TheoryDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo theoryAttribute) =>
        Discover(discoveryOptions, testMethod, theoryAttribute, Requirement.UnderCi);

    internal IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo theoryAttribute, bool underCi) =>
        Requirement.Missing(theoryAttribute, underCi) is { } missing
            ? [new ExecutionErrorTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, Requirement.FailureUnderCi(missing))]
            : base.Discover(discoveryOptions, testMethod, theoryAttribute);
}
