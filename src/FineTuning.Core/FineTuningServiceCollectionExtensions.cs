using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;
using FineTuning.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FineTuning;

/// <summary>Registers FineTuning with Microsoft.Extensions.DependencyInjection.</summary>
public static class FineTuningServiceCollectionExtensions
{
    /// <summary>
    /// Adds a singleton <see cref="IFineTunerFactory"/> whose builders log through the container's
    /// <see cref="ILoggerFactory"/> (if any), publish their metrics through a meter of the container's
    /// <see cref="IMeterFactory"/> (if any; see <see cref="Monitoring.TrainingMeter"/>) and start from the options
    /// <paramref name="configure"/> sets. The options are
    /// validated here, all problems at once. Does nothing if a factory is already registered (TryAdd).
    /// </summary>
    public static IServiceCollection AddFineTuning(this IServiceCollection services, Action<TrainingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var defaults = new TrainingOptions();
        configure?.Invoke(defaults);
        List<string> problems = defaults.Validate().ToList();
        if (problems.Count > 0) throw new InvalidConfigurationException(problems);
        services.TryAddSingleton<IFineTunerFactory>(sp =>
            new FineTunerFactory(sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance, defaults, sp.GetService<IMeterFactory>()));
        return services;
    }
}
