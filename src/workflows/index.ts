export { serviceRequest } from './serviceRequest';
export { registration } from './registration';
export { carePlan } from './carePlan';
