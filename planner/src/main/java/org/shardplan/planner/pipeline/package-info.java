/**
 * Pipeline schedules: the order in which each device of a pipeline runs the forward and backward
 * passes of the micro-batches of a training step, with the step time, bubble and peak memory per
 * device in closed form, or as the critical path of the order where the stage times allow no closed
 * form. One interface ({@link org.shardplan.planner.pipeline.Schedule}) with one implementation per
 * published schedule: no pipeline ({@link org.shardplan.planner.pipeline.NoPipeline}), GPipe
 * ({@link org.shardplan.planner.pipeline.GPipe}, Huang et al. 2019), 1F1B or PipeDream-flush
 * ({@link org.shardplan.planner.pipeline.OneFOneB}, Narayanan et al. 2021), interleaved 1F1B
 * ({@link org.shardplan.planner.pipeline.Interleaved1F1B}, Narayanan et al., SC'21) and ZB-H1
 * ({@link org.shardplan.planner.pipeline.ZeroBubbleH1}, Qi et al., ICLR 2024), and the asynchronous AMP
 * ({@link org.shardplan.planner.pipeline.Amp}, Gaunt et al. 2017: keys in flight and local updates, no
 * barrier, stale weights; configured by {@link org.shardplan.planner.pipeline.ScheduleParameters}, its
 * staleness per stage a {@link org.shardplan.planner.pipeline.Staleness}), found by name through
 * {@link org.shardplan.planner.pipeline.Schedules}. The inputs are plain per-stage costs
 * ({@link org.shardplan.planner.pipeline.StageProfile}); the event simulator of
 * {@code org.shardplan.planner.sim} replays each schedule's op order and checks the estimates.
 * docs/schedules.md derives the formulas and says how they are checked. Where the stages are cut:
 * {@link org.shardplan.planner.pipeline.StagePartition}, the exact partition of a chain of segments into
 * stages under Alpa's objective (Zheng et al., OSDI 2022), over stage costs the caller solves.
 */
package org.shardplan.planner.pipeline;
