import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { useStore } from '../store'

const timeLabel = (time: number): string =>
  new Date(time).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })

/** Hit rate and memory over the session, one point per refresh. */
export default function HistoryChart(): React.JSX.Element {
  const history = useStore((s) => s.history)
  return (
    <figure
      className="chart"
      aria-label="Hit rate and memory over time"
      data-testid="history-chart"
      data-points={history.length}
      data-last-memory-mb={history.at(-1)?.memoryMb ?? 0}
    >
      <ResponsiveContainer width="100%" height={170}>
        <LineChart data={history} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#2c3444" strokeDasharray="3 3" />
          <XAxis dataKey="time" tickFormatter={timeLabel} stroke="#8892a6" fontSize={11} minTickGap={40} />
          <YAxis yAxisId="rate" domain={[0, 100]} unit="%" stroke="#7fc8a9" fontSize={11} width={44} />
          <YAxis yAxisId="memory" orientation="right" unit=" MB" stroke="#8fb3ff" fontSize={11} width={60} />
          <Tooltip
            labelFormatter={(t) => timeLabel(Number(t))}
            formatter={(value, name) => [Number(value).toFixed(1), String(name)]}
            contentStyle={{ background: '#1b2130', border: '1px solid #39445a' }}
          />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          <Line
            yAxisId="rate"
            type="monotone"
            dataKey="hitRate"
            name="Hit rate %"
            stroke="#7fc8a9"
            dot={false}
            isAnimationActive={false}
          />
          <Line
            yAxisId="memory"
            type="stepAfter"
            dataKey="memoryMb"
            name="Memory MB"
            stroke="#8fb3ff"
            dot={false}
            isAnimationActive={false}
          />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  )
}
